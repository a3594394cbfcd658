"""Learning on simple_spread: JaxMARL's IPPO vs marlax PPO at the same env steps and settings.

JaxMARL side: `jaxmarl_ippo.make_train` with their `ippo_ff_mpe.yaml` (TOTAL_TIMESTEPS 1e7,
16 envs x 128 steps, 4 epochs x 4 minibatches, lr 2.5e-4 annealed), seeds as a vmap axis.
marlax side: `Trainer` with the same hyperparameters (see `train_throughput.marlax_config`).
Reported: mean +- std over seeds of the final return (mean over the last 5% of updates) and
a uniform-random policy's return on both envs (they should agree: same dynamics).

Returns are in JaxMARL's logged unit, the one its baseline plots: the episode sum of
`num_agents x reward_i`, averaged over agents (their MPELogWrapper scales rewards by N).
`per-agent` columns divide by N.

    python benchmarks/learning_simple_spread.py --libraries jaxmarl random --seeds 3 \
        --json /tmp/learning.json --markdown benchmarks/results/learning_simple_spread.md
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console

from jaxmarl_ippo import JAXMARL_IPPO_MPE_CONFIG, make_train

NUM_AGENTS = 3
FINAL_FRACTION = 0.05


def final_return(returns: np.ndarray) -> np.ndarray:
    """f32[S, U] per-update returns -> f32[S]: the mean over the last 5% of updates."""
    tail = max(1, int(round(returns.shape[1] * FINAL_FRACTION)))
    return returns[:, -tail:].mean(axis=1)


def jaxmarl_curves(num_seeds: int, total_timesteps: float, seed: int) -> np.ndarray:
    """f32[S, U]: JaxMARL IPPO's `returned_episode_returns` per update, one seed at a time.

    Seeds run in a Python loop over one compiled `train`, not as a vmap axis: on this
    machine's XLA:CPU (jax 0.10.2, 2 cores) `jit(vmap(train))` of the port compiles and then
    never returns (all threads parked on a futex), while `jit(train)` runs.
    """
    config = dict(JAXMARL_IPPO_MPE_CONFIG, TOTAL_TIMESTEPS=total_timesteps)
    train = jax.jit(make_train(config))
    keys = jax.random.split(jax.random.key(seed), num_seeds)
    curves = [np.asarray(train(key)["metrics"]["returned_episode_returns"]) for key in keys]
    return np.stack(curves)


def marlax_curves(
    num_seeds: int, total_timesteps: float, seed: int, bootstrap_truncation: bool = True
) -> np.ndarray:
    """f32[S, U]: marlax PPO's episode return per update (in JaxMARL's unit), seeds vmapped.

    `bootstrap_truncation=False` ("marlax-nobootstrap") treats the time limit as terminal, as
    JaxMARL does: the one semantic difference left between the two sides."""
    from marlax.algorithms.ppo.trainer import Trainer
    from marlax.config import load_from_dict
    from train_throughput import MARLAX_RETURN_KEY, marlax_config

    cfg = JAXMARL_IPPO_MPE_CONFIG
    num_updates = int(total_timesteps // cfg["NUM_STEPS"] // cfg["NUM_ENVS"])
    log_every = next(n for n in (50, 40, 25, 20, 10, 8, 5, 4, 2, 1) if num_updates % n == 0)
    trainer = Trainer(
        load_from_dict(
            marlax_config(
                "simple_spread",
                cfg["NUM_ENVS"],
                log_every=log_every,
                num_updates=num_updates,
                num_seeds=num_seeds,
                seed=seed,
                bootstrap_truncation=bootstrap_truncation,
            )
        )
    )
    state = trainer.init(jax.random.key(seed))
    chunks = []
    for _ in range(num_updates // log_every):
        state, metrics = trainer.update(state)
        # marlax logs the per-agent return; JaxMARL's unit is N times it
        chunks.append(np.asarray(metrics[MARLAX_RETURN_KEY]) * NUM_AGENTS)
    return np.concatenate(chunks, axis=1)


def jaxmarl_random_return(num_envs: int, key: jax.Array, num_steps: int = 25) -> float:
    """Mean return of uniform actions over `num_steps` from reset on JaxMARL's simple_spread.

    JaxMARL unit. Its MPE reports done on the 26th step (max_steps=25), so the episodes its
    LogWrapper logs sum 26 rewards; mpe2 and marlax episodes have 25.
    """
    import jaxmarl

    env = jaxmarl.make("MPE_simple_spread_v3")
    reset_key, loop_key = jax.random.split(key)
    _, state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

    def _body(state, step_key):
        action_key, env_key = jax.random.split(step_key)
        actions = jax.random.randint(action_key, (env.num_agents, num_envs), 0, 5)
        _, state, reward, _, _ = jax.vmap(env.step)(
            jax.random.split(env_key, num_envs),
            state,
            {agent: actions[i] for i, agent in enumerate(env.agents)},
        )
        return state, jnp.stack([reward[agent] for agent in env.agents]).mean(axis=0)

    _, reward_t = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
    return float(reward_t.sum(axis=0).mean() * env.num_agents)


def marlax_random_return(num_envs: int, key: jax.Array) -> float:
    """The same on marlax's simple_spread (one episode of `max_steps` from reset per env)."""
    from marlax.envs import make

    env = make("simple_spread")
    reset_key, loop_key = jax.random.split(key)
    _, state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

    def _body(state, step_key):
        action_key, env_key = jax.random.split(step_key)
        actions = jax.random.randint(action_key, (num_envs, env.num_agents), 0, 5)
        _, state, reward, _, _ = jax.vmap(env.step)(
            jax.random.split(env_key, num_envs), state, actions
        )
        return state, reward.mean(axis=-1)

    _, reward_t = jax.lax.scan(_body, state, jax.random.split(loop_key, env.max_steps))
    return float(reward_t.sum(axis=0).mean() * env.num_agents)


def _run(library: str, args: argparse.Namespace) -> dict:
    start = time.perf_counter()
    if library == "random":
        key = jax.random.key(args.seed)
        result = {
            "jaxmarl": jaxmarl_random_return(args.random_envs, key),
            "jaxmarl_26": jaxmarl_random_return(args.random_envs, key, num_steps=26),
            "marlax": marlax_random_return(args.random_envs, key),
        }
    else:
        if library == "jaxmarl":
            curves = jaxmarl_curves(args.seeds, args.total_timesteps, args.seed)
        else:
            bootstrap = library != "marlax-nobootstrap"
            curves = marlax_curves(args.seeds, args.total_timesteps, args.seed, bootstrap)
        finals = final_return(curves)
        result = {
            "final": finals.tolist(),
            "curve_mean": curves.mean(axis=0).tolist(),
            "num_updates": curves.shape[1],
        }
    result["seconds"] = time.perf_counter() - start
    return result


def _markdown(results: dict, args: argparse.Namespace) -> str:
    cfg = JAXMARL_IPPO_MPE_CONFIG
    lines = [
        "# Learning on simple_spread: JaxMARL IPPO vs marlax PPO",
        "",
        f"Env steps {args.total_timesteps:.3g}, {cfg['NUM_ENVS']} envs x {cfg['NUM_STEPS']} steps,"
        f" {args.seeds} seeds, base seed {args.seed}; device {jax.devices()[0].platform}.",
        "Final return = mean over the last 5% of updates; JaxMARL's logged unit"
        f" (episode sum of N x reward, N={NUM_AGENTS}); per-agent = that / N.",
        "",
        "| policy | final return (mean +- std) | per-agent | seeds | updates | wall s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for library in ("jaxmarl", "marlax", "marlax-nobootstrap"):
        if library in results:
            row = results[library]
            finals = np.asarray(row["final"])
            mean, std = finals.mean(), finals.std()
            lines.append(
                f"| {library} | {mean:.2f} +- {std:.2f} | {mean / NUM_AGENTS:.2f} |"
                f" {len(finals)} | {row['num_updates']} | {row['seconds']:.0f} |"
            )
    if "random" in results:
        row = results["random"]
        labels = {
            "jaxmarl": "uniform random, JaxMARL env, 25 steps",
            "jaxmarl_26": "uniform random, JaxMARL env, 26 steps (its logged episode)",
            "marlax": "uniform random, marlax env, 25 steps (its episode)",
        }
        for name, label in labels.items():
            if name in row:
                lines.append(
                    f"| {label} | {row[name]:.2f} | {row[name] / NUM_AGENTS:.2f} | - | - | - |"
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--libraries",
        nargs="*",
        default=["jaxmarl", "marlax", "random"],
        choices=["jaxmarl", "marlax", "marlax-nobootstrap", "random"],
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=JAXMARL_IPPO_MPE_CONFIG["SEED"])
    parser.add_argument(
        "--total-timesteps", type=float, default=JAXMARL_IPPO_MPE_CONFIG["TOTAL_TIMESTEPS"]
    )
    parser.add_argument("--random-envs", type=int, default=4096)
    parser.add_argument("--json", default=None, help="merge results into this JSON file")
    parser.add_argument("--markdown", default=None, help="write the table here")
    args = parser.parse_args()

    console = Console()
    results: dict = {}
    if args.json and os.path.exists(args.json):
        with open(args.json) as handle:
            results = json.load(handle)
    for library in args.libraries:
        results[library] = _run(library, args)
        summary = {k: v for k, v in results[library].items() if k != "curve_mean"}
        console.log(f"{library}: {summary}")
        if args.json:
            with open(args.json, "w") as handle:
                json.dump(results, handle)
    text = _markdown(results, args)
    console.print(text)
    if args.markdown:
        with open(args.markdown, "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
