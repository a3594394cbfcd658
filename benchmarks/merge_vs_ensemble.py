"""Merged models vs ensembles vs the best member (PPO on simple_spread, MLP 64x64).

Three member sets, 3 members each, every policy scored on the same 256 greedy episodes:
  shared-init  a parent trained --parent-steps, then 3 children fine-tuned --child-steps each
               from the parent's parameters and optimiser state with their own seeds
  independent  3 seeds trained --parent-steps + --child-steps from their own initialisations
  tasks        the parent fine-tuned on three reward mixes (local_ratio 0.0 = pure coverage,
               0.5 = the default, 1.0 = collisions only): one member per task, each policy
               scored on every task
  multi-task   the tasks coverage and collisions as one multi-task config (the policy reads a
               task id): a parent on both, two children fine-tuned with 60 of 64 envs on one task
               each; their merge is one model for both tasks, told apart by the task marker
Per set: each member, the uniform parameter average (`marlax merge`) and the equal-weight
probability average (`marlax eval --ensemble --rule average`).

    python benchmarks/merge_vs_ensemble.py                 # ~1.7M env steps per member
    python benchmarks/merge_vs_ensemble.py --sets multi    # only the multi-task set
    python benchmarks/merge_vs_ensemble.py --parent-steps 200000 --child-steps 100000   # quick
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import jax
import jax.numpy as jnp
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from marlax.algorithms.merge.runs import merge_ppo_runs
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.trained import load_run_policy
from marlax.config import load_from_dict
from marlax.config.load import config_to_dict
from marlax.evaluation.ensemble import EnsembleRequest, load_ensemble
from marlax.evaluation.episodes import jitted_run_episodes
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder

EPISODES = 256
TASKS = {"coverage": 0.0, "default": 0.5, "collisions": 1.0}


def config(steps: int, seeds: int = 1, local_ratio: float = 0.5) -> dict:
    """configs/simple_spread.json at `steps` env steps, `seeds` seeds and a reward mix."""
    return {
        "env": {"name": "simple_spread", "num_envs": 64, "params": {"local_ratio": local_ratio}},
        "model": {"name": "mlp", "core": {"hidden_sizes": [64, 64]}},
        "ppo": {
            "total_env_steps": steps,
            "rollout_length": 128,
            "learning_rate": 0.0025,
            "entropy_coef": 0.01,
            "anneal_lr": False,
        },
        "run": {"num_seeds": seeds, "log_every": 10},
    }


def train(raw: dict, seed: int, progress: Progress, start=None) -> object:
    """The trained state; `start` (params, opt_state of one seed) replaces the fresh ones."""
    trainer = Trainer(load_from_dict(raw))
    state = trainer.init(jax.random.key(seed))
    if start is not None:
        tiled = jax.tree.map(lambda leaf: jnp.stack([leaf] * raw["run"]["num_seeds"]), start)
        state = trainer.place(state.replace(params=tiled[0], opt_state=tiled[1]))
    bar = progress.add_task(f"train seed {seed}", total=trainer.num_updates)
    for _ in range(trainer.num_updates):
        state, _ = trainer.update(state, 1)
        progress.advance(bar)
    progress.remove_task(bar)
    return trainer, jax.device_get(state)


def save(runs_dir: Path, name: str, trainer: Trainer, state: object) -> None:
    folder = RunFolder.create(runs_dir, name, config_to_dict(trainer.config))
    steps = trainer.num_updates * trainer.env_steps_per_update
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        checkpointer.save(trainer.num_updates, state, {"env_steps": steps})
    folder.write_status("finished")


def score(policy: object, env: object) -> float:
    results = jitted_run_episodes(jax.random.key(0), env=env, policy=policy, num_episodes=EPISODES)
    return float(jnp.mean(results.returns))


def seed_slice(state: object, index: int) -> tuple:
    return jax.tree.map(lambda leaf: leaf[index], (state.params, state.opt_state))


def multi_task_config(steps: int, coverage_envs: int, collision_envs: int) -> dict:
    """Both reward mixes as the tasks of one multi-task config (the policy sees a task id)."""
    raw = config(steps)
    raw.pop("env")
    raw["envs"] = [
        {"name": "simple_spread", "num_envs": coverage_envs, "params": {"local_ratio": 0.0}},
        {"name": "simple_spread", "num_envs": collision_envs, "params": {"local_ratio": 1.0}},
    ]
    return raw


def scores_on(
    runs_dir: Path, members: list[str], merged: str, overrides: dict, selector: str | None
) -> dict:
    """Team return of each member, the merged run and the average ensemble on one task."""
    row = {}
    for spec in members:
        name, _, seed = spec.partition(":")
        loaded = load_run_policy(
            runs_dir, name, seed_index=int(seed or 0), env_overrides=overrides, selector=selector
        )
        row[spec] = score(loaded.policy, loaded.env)
    loaded = load_run_policy(runs_dir, merged, env_overrides=overrides, selector=selector)
    row["merged"] = score(loaded.policy, loaded.env)
    request = EnsembleRequest(rule="average", env_overrides=overrides, selector=selector)
    ensemble = load_ensemble(runs_dir, members, request)
    row["ensemble"] = score(ensemble.policy, ensemble.env)
    return row


def single_task_sets(runs_dir: Path, args: argparse.Namespace, progress: Progress) -> list:
    """shared-init, independent and tasks: rows (set, evaluated on, scores)."""
    _, parent = train(config(args.parent_steps), 0, progress)
    start = seed_slice(parent, 0)
    for child in range(3):
        save(
            runs_dir,
            f"child-{child}",
            *train(config(args.child_steps), 10 + child, progress, start),
        )
    total = args.parent_steps + args.child_steps
    save(runs_dir, "independent", *train(config(total, seeds=3), 1, progress))
    for task, ratio in TASKS.items():
        raw = config(args.child_steps, local_ratio=ratio)
        save(runs_dir, f"task-{task}", *train(raw, 20, progress, start))
    sets = {
        "shared-init": [f"child-{child}" for child in range(3)],
        "independent": [f"independent:{seed}" for seed in range(3)],
        "tasks": [f"task-{task}" for task in TASKS],
    }
    rows = []
    for label, members in sets.items():
        merge_ppo_runs(runs_dir, members, f"merged-{label}")
        ratios = TASKS.values() if label == "tasks" else [0.5]
        for ratio in ratios:
            scores = scores_on(runs_dir, members, f"merged-{label}", {"local_ratio": ratio}, None)
            rows.append((label, f"local_ratio {ratio}", scores))
    return rows


def multi_task_set(runs_dir: Path, args: argparse.Namespace, progress: Progress) -> list:
    """multi-task: a parent on both reward mixes (task id in the input), two children fine-tuned
    with 60 of 64 envs on one mix each; merged into one model that reads the task id."""
    _, parent = train(multi_task_config(args.parent_steps, 32, 32), 0, progress)
    start = seed_slice(parent, 0)
    for label, split in (("coverage", (60, 4)), ("collisions", (4, 60))):
        raw = multi_task_config(args.child_steps, *split)
        save(runs_dir, f"multi-{label}", *train(raw, 30, progress, start))
    members = ["multi-coverage", "multi-collisions"]
    merge_ppo_runs(runs_dir, members, "merged-multi")
    return [
        (
            "multi-task",
            f"task {index} ({name})",
            scores_on(runs_dir, members, "merged-multi", {}, str(index)),
        )
        for index, name in enumerate(("local_ratio 0.0", "local_ratio 1.0"))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parent-steps", type=int, default=1_000_000)
    parser.add_argument("--child-steps", type=int, default=655_360)
    parser.add_argument(
        "--sets", nargs="+", default=["single", "multi"], choices=["single", "multi"]
    )
    args = parser.parse_args()
    runs_dir = Path(tempfile.mkdtemp(prefix="merge-bench-"))
    console = Console(width=150)
    rows = []
    with Progress(console=console, transient=True) as progress:
        if "single" in args.sets:
            rows += single_task_sets(runs_dir, args, progress)
        if "multi" in args.sets:
            rows += multi_task_set(runs_dir, args, progress)
    table = Table(title=f"team return, {EPISODES} greedy episodes (higher is better)")
    for column in ("set", "evaluated on", "members", "best member", "merged", "ensemble"):
        table.add_column(column)
    for label, task, row in rows:
        members = [value for key, value in row.items() if key not in ("merged", "ensemble")]
        table.add_row(
            label,
            task,
            " / ".join(f"{value:.2f}" for value in members),
            f"{max(members):.2f}",
            f"{row['merged']:.2f}",
            f"{row['ensemble']:.2f}",
        )
    console.print(table)
    console.print(f"run folders in {runs_dir}")


if __name__ == "__main__":
    main()
