"""Host-env throughput of sebulba's actors: env-steps/s with 1, 2 and 4 actors.

    python benchmarks/host_env_throughput.py --envs-per-actor 8 --seconds 20
    python benchmarks/host_env_throughput.py --backend ray --actors 1 2 --seconds 20
    python benchmarks/host_env_throughput.py --envs-only --seconds 10

`--envs-only` first times the envs without a policy (uniform-random actions): a plain loop over
the PettingZoo envs against the same envs through `from_pettingzoo`, the adapter's cost.

Each actor steps its own magent2 battle_v4 envs with the jitted CPU policy of a fixed set of
PPO parameters (IPPO, image encoder), as in training, and the script counts the env steps
(and agent steps) all actors took in a fixed wall-clock window, after one warm-up rollout.
The learner is left out (rollouts are taken and dropped), so the table is the acting side's
ceiling. `--backend threads` (default): actor threads of this process, each with one rollout
queued (queue_size 1); on a machine with C cores, more than C actor threads cannot step
faster, and the Python parts of PettingZoo's step hold the GIL, which threads share.
`--backend ray`: each actor a Ray actor process (a local Ray instance started here) with two
calls in flight (queue_size 2: one computing, one queued, as a thread computes one while one
waits); counted are the env steps of the rollouts that arrived at the learner.
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import numpy as np

from marlax.algorithms.sebulba.trainer import SebulbaTrainer
from marlax.config import load_from_dict
from marlax.envs.adapters.from_pettingzoo import from_pettingzoo


def _config(num_actors: int, envs_per_actor: int, map_size: int, rollout_length: int, backend: str):
    return load_from_dict(
        {
            "algorithm": "sebulba",
            "env": {"name": "simple_spread", "num_envs": num_actors * envs_per_actor},
            "model": {"name": "mlp", "core": {"hidden_sizes": [64]}},
            "ppo": {"total_env_steps": 10**9, "rollout_length": rollout_length},
            "sebulba": {
                "num_actors": num_actors,
                "queue_size": 2 if backend == "ray" else 1,
                "backend": backend,
                "host_env": "pettingzoo:magent2.environments.battle_v4",
                "host_env_params": {"map_size": map_size, "max_cycles": 200},
            },
        }
    )


def measure(
    num_actors: int, envs_per_actor: int, map_size: int, seconds: float, backend: str
) -> tuple:
    """(env-steps/s, agent-slot-steps/s, agents) of `num_actors` actors over `seconds`."""
    trainer = SebulbaTrainer(_config(num_actors, envs_per_actor, map_size, 16, backend))
    state = trainer.init(jax.random.key(0))
    trainer._start_actors(state)
    take = _take_ready_threads if backend == "threads" else _take_ray
    try:
        trainer.actors.take()  # warm-up: compiled and one rollout done
        start_steps, started = trainer.actor_env_steps, time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            take(trainer.actors)
        steps = trainer.actor_env_steps - start_steps
        elapsed = time.perf_counter() - started
    finally:
        trainer.close()
    agents = trainer.layout.max_agents
    return steps / elapsed, steps * agents / elapsed, agents


def _take_ready_threads(actors) -> None:
    """Drop the rollouts waiting in the threads' queues (the threads count their steps)."""
    for actor in actors.actors:
        if not actor.rollouts.empty():
            actor.take()
    time.sleep(0.005)


def _take_ray(actors) -> None:
    """One rollout per Ray actor (each call taken is replaced by a new one)."""
    actors.take()


def _battle(map_size: int):
    from magent2.environments import battle_v4

    return battle_v4.parallel_env(map_size=map_size, max_cycles=200)


def envs_only(num_envs: int, map_size: int, seconds: float) -> tuple[float, float]:
    """(env-steps/s of a plain PettingZoo loop, of the same envs through `from_pettingzoo`),
    uniform-random actions over all 21 of battle's actions."""
    rng = np.random.default_rng(0)
    envs = [_battle(map_size) for _ in range(num_envs)]
    for index, env in enumerate(envs):
        env.reset(seed=index)
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for env in envs:
            if not env.agents:
                env.reset()
            env.step({agent: int(rng.integers(21)) for agent in env.agents})
            steps += 1
    plain = steps / (time.perf_counter() - started)
    batch = from_pettingzoo(lambda: _battle(map_size), num_envs, seed=0)
    step = batch.reset()
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        step = batch.step(rng.integers(0, 21, size=step.alive.shape))
        steps += num_envs
    batch.close()
    return plain, steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--envs-per-actor", type=int, default=8)
    parser.add_argument("--map-size", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--envs-only", action="store_true", help="time the envs alone first")
    parser.add_argument("--backend", choices=["threads", "ray"], default="threads")
    args = parser.parse_args()
    if args.backend == "ray":
        import ray  # one instance for every row (the trainers join it)

        num_cpus = max(os.cpu_count() or 1, *args.actors)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    if args.envs_only:
        plain, adapted = envs_only(args.envs_per_actor, args.map_size, args.seconds)
        print("| envs without a policy | env-steps/s |\n|---|---:|")
        print(f"| plain PettingZoo loop, {args.envs_per_actor} envs | {plain:,.0f} |")
        print(f"| the same through from_pettingzoo | {adapted:,.0f} |\n", flush=True)
    print("| backend | actors | envs/actor | agents/env | env-steps/s | agent-steps/s |")
    print("|---|---|---|---|---|---|")
    for num_actors in args.actors:
        rate, agent_rate, agents = measure(
            num_actors, args.envs_per_actor, args.map_size, args.seconds, args.backend
        )
        cells = [args.backend, num_actors, args.envs_per_actor, agents]
        cells += [f"{rate:,.0f}", f"{agent_rate:,.0f}"]
        print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)


if __name__ == "__main__":
    main()
