"""RL²: return of the first episode of a trial against the later ones, on held-out tasks.

    python benchmarks/rl2_trials.py --config configs/rl2_bandit.json --models gru --seeds 3
    python benchmarks/rl2_trials.py --config configs/rl2_navigation.json --models gru s5

Each model trains `--seeds` seeds in one program (PPO's seed axis) for the config's
`ppo.total_env_steps`, then every seed plays one trial on each of `--tasks` held-out tasks
(drawn from `--task-seed`, a key stream training never uses). Prints a markdown table: mean
return of episode 1 and of episode k of a trial, the improvement (mean of episodes 2..k minus
episode 1), each as the mean over seeds with the spread (min..max) across seeds.
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
from marlax.config import load_config

CORE_SETTINGS = {
    "gru": '{"hidden_size": 64}',
    # 2 layers x 32 steps see 63 steps back: a whole bandit trial (40), most of a navigation one
    "transformer": '{"context_length": 32}',
    "s5": "{}",
    "ssm": "{}",
}


def train_seeds(config_path: Path, model: str, seeds: int, overrides: list[str]) -> tuple:
    """Train `seeds` seeds of the config with memory core `model`; (trainer, state, seconds)."""
    settings = [
        f"model.name={model}",
        f"model.core={CORE_SETTINGS.get(model, '{}')}",
        f"run.num_seeds={seeds}",
        *overrides,
    ]
    config = load_config(config_path, settings)
    trainer = Trainer(config)
    state = trainer.init(jax.random.key(config.run.seed))
    per_call = config.run.log_every
    calls, remainder = divmod(trainer.num_updates, per_call)
    started = time.perf_counter()
    for _ in track(range(calls), description=f"{model} on {config.envs[0].name}"):
        state, metrics = trainer.update(state)
        jax.block_until_ready(metrics)  # the bar follows the work, not the dispatch
    if remainder:
        state, _ = trainer.update(state, remainder)
    jax.block_until_ready(state)
    return trainer, state, time.perf_counter() - started


def seed_returns(trainer: Trainer, state, num_tasks: int, task_seed: int) -> np.ndarray:
    """f32[S, M, k]: each seed's per-episode team returns on the same held-out tasks."""
    env = trainer.layout.tasks[0].env
    tasks = held_out_tasks(jax.random.key(task_seed), env, num_tasks)
    rows = []
    for seed in range(trainer.config.run.num_seeds):
        actor = jax.tree.map(lambda leaf, s=seed: leaf[s], state.params["actor"])
        policy = TrainedPolicy(actor, trainer.networks, trainer.layout, 0, sample=True)
        key = jax.random.key(task_seed + 1)
        rows.append(
            np.asarray(jitted_trial_episode_returns(key, env=env, policy=policy, tasks=tasks))
        )
    return np.stack(rows)


def _cell(values: np.ndarray) -> str:
    """'mean (min..max)' over seeds."""
    return f"{values.mean():.2f} ({values.min():.2f}..{values.max():.2f})"


def table_row(model: str, task: str, returns: np.ndarray) -> str:
    """One markdown row from f32[S, M, k] returns."""
    per_seed = returns.mean(axis=1)  # f32[S, k]
    first, last = per_seed[:, 0], per_seed[:, -1]
    improvement = per_seed[:, 1:].mean(axis=1) - first
    return (
        f"| {model} | {task} | {_cell(first)} | {_cell(last)} | {_cell(improvement)} "
        f"| {returns.shape[0]} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=["gru"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=256, help="held-out tasks per seed")
    parser.add_argument("--task-seed", type=int, default=10_000)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    rows = []
    for model in args.models:
        trainer, state, seconds = train_seeds(args.config, model, args.seeds, args.overrides)
        returns = seed_returns(trainer, state, args.tasks, args.task_seed)
        config = trainer.config
        label = f"{config.envs[0].name} k={config.envs[0].episodes_per_trial}"
        rows.append(table_row(model, label, returns))
        steps = config.num_updates * config.steps_per_update
        print(f"{model}: {steps:,} env steps per seed, {seconds:.0f} s for {args.seeds} seeds")
        print("  per-episode mean return:", np.round(returns.mean(axis=(0, 1)), 3))
    print()
    print("| model | task | episode 1 return | episode k return | improvement (2..k - 1) | seeds |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
