"""VariBAD against RL² (GRU) on navigation_2d trials, at equal env steps.

    python benchmarks/varibad_vs_rl2.py --steps 320000 --seeds 2

Both learners see trials of `--episodes` episodes of one goal (navigation_2d with
`--max-steps` steps an episode), for `--steps` env steps per seed (seeds are a vmap axis in
both). Then every seed plays one trial on each of `--tasks` held-out goals (from
`--task-seed`, a key stream training never uses) with sampled actions. Prints a markdown
table: return of episode 1 and episode k of a trial, the improvement (mean of episodes 2..k
minus episode 1), each as the mean over seeds (min..max), and training seconds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import jax
import numpy as np
from rich.progress import track

from marlax.algorithms.ppo.policy import TrainedPolicy
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.rl2.trials import held_out_tasks, jitted_trial_episode_returns
from marlax.algorithms.varibad.policy import VariBADPolicy
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _train(trainer, chunks: int, label: str) -> tuple:
    """Run `trainer.num_updates` updates in `chunks` calls; (state, seconds)."""
    state = trainer.init(jax.random.key(trainer.config.run.seed))
    per_call = max(1, trainer.num_updates // chunks)
    done = 0
    started = time.perf_counter()
    for _ in track(range(-(-trainer.num_updates // per_call)), description=label):
        count = min(per_call, trainer.num_updates - done)
        state, metrics = trainer.update(state, count)
        jax.block_until_ready(metrics)
        done += count
    return state, time.perf_counter() - started


def _seed(tree, index: int):
    return jax.tree.map(lambda leaf: leaf[index], tree)


def rl2_returns(args) -> tuple[np.ndarray, float, int]:
    """f32[S, M, k] per-episode returns of RL² seeds; seconds; env steps per seed."""
    config = load_config(ROOT / "configs" / "rl2_navigation.json", _common(args, "rl2"))
    trainer = Trainer(config)
    state, seconds = _train(trainer, 20, "rl2 (gru)")
    env = trainer.layout.tasks[0].env
    policies = [
        TrainedPolicy(_seed(state.params["actor"], s), trainer.networks, trainer.layout, 0, True)
        for s in range(args.seeds)
    ]
    steps = trainer.num_updates * config.steps_per_update
    return _play(env, policies, args), seconds, steps


def varibad_returns(args) -> tuple[np.ndarray, float, int]:
    """f32[S, M, k] per-episode returns of VariBAD seeds; seconds; env steps per seed."""
    config = load_config(ROOT / "configs" / "varibad_navigation.json", _common(args, "varibad"))
    trainer = VariBADTrainer(config)
    state, seconds = _train(trainer, 20, "varibad")
    policies = [
        VariBADPolicy(
            actor_params=_seed(state.policy_params["actor"], s),
            vae_params=_seed(state.vae_params, s),
            networks=trainer.networks,
            num_agents=1,
            sample=True,
        )
        for s in range(args.seeds)
    ]
    steps = trainer.num_updates * trainer.env_steps_per_update
    return _play(trainer.trial_env, policies, args), seconds, steps


def _common(args, algorithm: str) -> list[str]:
    trial = (
        [f"env.episodes_per_trial={args.episodes}"]
        if algorithm == "rl2"
        else [f"varibad.episodes_per_trial={args.episodes}"]
    )
    return [
        f'env.params={{"max_steps": {args.max_steps}}}',
        f"ppo.total_env_steps={args.steps}",
        f"run.num_seeds={args.seeds}",
        *trial,
    ]


def _play(env, policies, args) -> np.ndarray:
    tasks = held_out_tasks(jax.random.key(args.task_seed), env, args.tasks)
    key = jax.random.key(args.task_seed + 1)
    return np.stack(
        [
            np.asarray(jitted_trial_episode_returns(key, env=env, policy=policy, tasks=tasks))
            for policy in policies
        ]
    )


def _cell(values: np.ndarray) -> str:
    return f"{values.mean():.2f} ({values.min():.2f}..{values.max():.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=320_000, help="env steps per seed")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=3, help="episodes per trial k")
    parser.add_argument("--max-steps", type=int, default=20, help="steps per episode")
    parser.add_argument("--tasks", type=int, default=256)
    parser.add_argument("--task-seed", type=int, default=10_000)
    args = parser.parse_args()
    rows = []
    for label, run in (("RL² (GRU)", rl2_returns), ("VariBAD", varibad_returns)):
        returns, seconds, steps = run(args)
        per_seed = returns.mean(axis=1)  # f32[S, k]
        improvement = per_seed[:, 1:].mean(axis=1) - per_seed[:, 0]
        rows.append(
            f"| {label} | {steps:,} | {_cell(per_seed[:, 0])} | {_cell(per_seed[:, -1])} "
            f"| {_cell(improvement)} | {seconds:.0f} |"
        )
        print(f"{label}: per-episode mean return {np.round(per_seed.mean(axis=0), 3)}")
    print(f"\nnavigation_2d, {args.max_steps} steps an episode, k = {args.episodes}, ")
    print(f"{args.seeds} seeds, {args.tasks} held-out goals (task seed {args.task_seed})\n")
    print("| learner | env steps per seed | episode 1 | episode k | improvement | train s |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
