"""marlax's QMIX / VDN against JaxMARL's original ones on simple_spread, in the same run.

    python benchmarks/q_learning_peer.py --alg qmix vdn --steps 1000000 --seeds 1 \
        --jaxmarl-src /tmp/jaxmarl_src      # a JaxMARL checkout (see jaxmarl_qlearning.py)

Both learners get JaxMARL's `ql_rnn_mpe.yaml` settings: 8 envs, one episode chunk per env per
update, replay of 5000 chunks, batch 32, one gradient step per update, learning from 10,000
env steps, GRU 64 with agent ids, epsilon 1 -> 0.05 over 10% of the run, RAdam (eps 1e-8) at
5e-3 decayed linearly, gradient clip 25, gamma 0.9, hard target update every 200 updates,
team reward = sum of the agents' rewards, QMIX mixer 32 / 128; the agent network is theirs
too: Dense 64 + relu, GRU 64, a linear Q layer of orthogonal gain 1. One difference is the env's:
JaxMARL's MPE episodes are 26 steps (its time-limit check runs one step late), marlax's 25
as in mpe2, so one update is 8 x 26 vs 8 x 25 env steps.

Every (algorithm, library, seed) cell runs in a fresh Python process (`--cell`): in one
process, runs after the first were slower (marlax VDN 14,861 env-steps/s after three other
trainings against 17,620 alone; JaxMARL VDN 14,592 against 18,573, quiet machine), which made
earlier same-process ratios depend on the order. Speed: env steps per second of the training
program, compiled ahead and timed over the whole run in one call; JaxMARL is timed with its
periodic greedy tests off (TEST_DURING_TRAINING
False, otherwise 21 x 512 x 30 extra greedy steps would count against it), then run again with
them on for its return. Return: greedy, 512 episodes after training, as the team's episode
sum of rewards (JaxMARL's MPE test metric is that sum over 26 steps; marlax's
`marlax eval` team return x 3 agents, over 25 steps).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from jaxmarl_qlearning import run_jaxmarl  # noqa: E402
from marlax.algorithms.q_learning.policy import QPolicy  # noqa: E402
from marlax.algorithms.q_learning.trainer import QTrainer  # noqa: E402
from marlax.config import load_from_dict  # noqa: E402
from marlax.evaluation.episodes import jitted_run_episodes  # noqa: E402

EVAL_EPISODES = 512


def marlax_config(alg: str, total_env_steps: int, seed: int) -> dict[str, Any]:
    """JaxMARL's ql_rnn_mpe.yaml settings in marlax's config."""
    return {
        "algorithm": alg,
        "env": {"name": "simple_spread", "num_envs": 8},
        "model": {
            "name": "gru",
            "encoder": {"hidden_sizes": [64], "activation": "relu"},
            "core": {"hidden_size": 64},
        },
        "optimizer": {"name": "radam", "eps": 1e-8},
        "q_learning": {
            "total_env_steps": total_env_steps,
            "buffer_size": 5000,
            "batch_size": 32,
            "gradient_steps": 1,
            "learning_starts": 10000,
            "gamma": 0.9,
            "learning_rate": 0.005,
            "anneal_lr": True,
            "max_grad_norm": 25.0,
            "eps_start": 1.0,
            "eps_finish": 0.05,
            "eps_decay": 0.1,
            "target_update_interval": 200,
            "tau": 1.0,
            "team_reward": "sum",
            "mixer_embed_dim": 32,
            "mixer_hypernet_dim": 128,
            "head_init_scale": 1.0,
        },
        "run": {"seed": seed},
    }


def run_marlax(alg: str, total_env_steps: int, seed: int) -> dict[str, Any]:
    """Train marlax's `alg` in one compiled call; time it; evaluate greedily."""
    config = load_from_dict(marlax_config(alg, total_env_steps, seed))
    trainer = QTrainer(config)
    state = trainer.init(jax.random.key(seed))
    start = time.perf_counter()
    program = trainer.update_program(trainer.num_updates).lower(state).compile()
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    state, metrics = program(state)
    jax.block_until_ready(metrics)
    seconds = time.perf_counter() - start
    env_steps = trainer.num_updates * trainer.env_steps_per_update
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    policy = QPolicy(params, trainer.setup.networks, trainer.setup.env)
    results = jitted_run_episodes(
        jax.random.key(10_000 + seed),
        env=trainer.setup.env,
        policy=policy,
        num_episodes=EVAL_EPISODES,
    )
    team_sum = float(np.asarray(results.returns).sum(axis=1).mean())
    return {
        "library": "marlax",
        "alg": alg,
        "env_steps": env_steps,
        "compile_seconds": compile_seconds,
        "seconds": seconds,
        "env_steps_per_s": env_steps / seconds,
        "final_return": team_sum,
    }


def run_peer(alg: str, total_env_steps: int, seed: int, src: str | None) -> dict[str, Any]:
    """JaxMARL's `alg`: timed without its tests, then run with them for its return."""
    timed = run_jaxmarl(
        alg, "simple_spread", total_env_steps, seed, {"TEST_DURING_TRAINING": False}, src
    )
    scored = run_jaxmarl(alg, "simple_spread", total_env_steps, seed, None, src)
    return {
        "library": "jaxmarl",
        "alg": alg,
        "env_steps": timed["env_steps"],
        "compile_seconds": timed["compile_seconds"],
        "seconds": timed["seconds"],
        "env_steps_per_s": timed["env_steps_per_s"],
        "final_return": scored["final_return"],
    }


def run_cell(library: str, alg: str, steps: int, seed: int, src: str | None) -> dict[str, Any]:
    """One cell in this process."""
    if library == "marlax":
        return run_marlax(alg, steps, seed)
    return run_peer(alg, steps, seed, src)


def run_cell_in_fresh_process(
    library: str, alg: str, steps: int, seed: int, src: str | None
) -> dict[str, Any]:
    """One cell in a new Python process (see the module docstring); its result line is JSON."""
    command = [sys.executable, __file__, "--cell", library, "--alg", alg]
    command += ["--steps", str(steps), "--seeds", str(seed)]
    if src is not None:
        command += ["--jaxmarl-src", src]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alg", nargs="+", default=["qmix", "vdn"], choices=["qmix", "vdn"])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0..n-1 (with --cell: the seed)")
    parser.add_argument("--jaxmarl-src", default=None)
    parser.add_argument(
        "--cell", choices=["marlax", "jaxmarl"], default=None, help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.cell is not None:  # a child process: one cell, its result as the last line
        result = run_cell(args.cell, args.alg[0], args.steps, args.seeds, args.jaxmarl_src)
        print(json.dumps(result), flush=True)
        return [result]
    print("command: python benchmarks/q_learning_peer.py " + " ".join(sys.argv[1:]), flush=True)
    rows = []
    for alg in args.alg:
        for seed in range(args.seeds):
            for library in ("marlax", "jaxmarl"):
                result = run_cell_in_fresh_process(library, alg, args.steps, seed, args.jaxmarl_src)
                rows.append({**result, "seed": seed})
                print(result, flush=True)
    print("\n| alg | library | seed | env steps | compile s | train s | env-steps/s | return |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['alg']} | {row['library']} | {row['seed']} | {row['env_steps']:,} | "
            f"{row['compile_seconds']:.1f} | {row['seconds']:.1f} | "
            f"{row['env_steps_per_s']:,.0f} | {row['final_return']:.2f} |"
        )
    return rows


if __name__ == "__main__":
    main()
