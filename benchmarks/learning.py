"""Learning table: every shipped config trained with PPO vs a uniform-random policy.

Each cell is (config, overrides, base env-step budget). A cell trains `--seeds` seeds at once
(the `run.num_seeds` vmap axis) for `budget x --budget-scale` env steps, then evaluates the
final policy and a uniform-random policy (`marlax.play.policy.random_actions`, legal actions
only) on the same fresh episodes: one full episode (`max_steps`) from reset in each of the
config's `num_envs` envs, reset with the same key for both policies. A return is the episode
sum of rewards averaged over the env's agents (the trainer's `return` metric), averaged over
episodes; the table gives mean +- std over seeds and margin = trained - random. For variable
n-back it also gives the accuracy per hidden lag n (fraction of correct answers = mean reward,
over the steps of the episodes whose n it is).

    python benchmarks/learning.py --seeds 2 --budget-scale 0.25 --markdown /tmp/learning.md
    python benchmarks/learning.py --cells nback_gru nback_transformer --budget-scale 4

Self-contained: needs only the installed `marlax` and the repository's `configs/`.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cell_progress import CellProgress
from marlax.algorithms.ppo.rollout import reset_runner, rollout_step
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_config
from marlax.play.policy import random_actions

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
EVAL_SEED = 12345
MAX_LOG_EVERY = 50
_EVAL_PROGRAMS: dict[int, tuple] = {}


@dataclass(frozen=True)
class Cell:
    """One row group of the table: a config, its overrides and its base env-step budget."""

    label: str
    config: str
    budget: int
    overrides: tuple[str, ...] = ()

    @property
    def path(self) -> Path:
        return CONFIG_DIR / f"{self.config}.json"


CELLS = (
    Cell("simple_spread", "simple_spread", 400_000),
    Cell("nback_mlp", "nback", 200_000, ("model.name=mlp", "model.core={}")),
    Cell("nback", "nback", 200_000),
    Cell("nback_gru", "nback_gru", 400_000),
    Cell("nback_transformer", "nback_transformer", 400_000),
    Cell(
        "grid_return_mlp",
        "grid_return",
        200_000,
        # the settings the MLP row was measured at (the GRU config now uses lr 3e-4, entropy
        # 0.03 and 128 envs)
        (
            "model.name=mlp",
            "model.core={}",
            "ppo.learning_rate=0.001",
            "ppo.entropy_coef=0.01",
            "env.num_envs=32",
        ),
    ),
    # 128 envs x 0.4M steps: every seed solved (at 32 envs x 0.4M, 2 of 3; BENCHMARKS.md)
    Cell("grid_return", "grid_return", 400_000),
    # 128 envs x 0.8M steps: every seed solved (at 0.4M, 2 of 3; at 32 envs x 0.2M, 1 of 3)
    Cell("grid_return_transformer", "grid_return_transformer", 800_000),
    Cell("scouts", "scouts", 200_000),
    Cell("traveling_salesman", "traveling_salesman", 200_000),
    Cell("king_of_the_hill", "king_of_the_hill", 200_000),
    Cell("energy_flow", "energy_flow", 200_000),
    Cell("multitask", "multitask", 200_000),
)


# ---- training ---------------------------------------------------------------------------------


def _log_every(num_updates: int) -> int:
    """The largest divisor of num_updates up to MAX_LOG_EVERY (fewer host round-trips)."""
    return max(d for d in range(1, min(num_updates, MAX_LOG_EVERY) + 1) if num_updates % d == 0)


def cell_config(cell: Cell, budget_scale: float, num_seeds: int, extra: tuple[str, ...] = ()):
    """The cell's validated config at `budget x budget_scale` env steps (at least one update)."""
    probe = load_config(cell.path, [*cell.overrides, *extra])
    steps = max(int(cell.budget * budget_scale), probe.steps_per_update)
    num_updates = steps // probe.steps_per_update
    log_every = _log_every(num_updates)
    overrides = [
        *cell.overrides,
        *extra,
        f"ppo.total_env_steps={num_updates * probe.steps_per_update}",
        f"run.log_every={log_every}",
        f"run.checkpoint_every={log_every}",
    ]
    return load_config(cell.path, overrides, num_seeds=num_seeds)


def train(
    config: Any,
    key: jax.Array,
    trainer: Trainer | None = None,
    eval_points: int = 0,
    on_eval: Callable[[Trainer, Any, int], None] | None = None,
    progress: CellProgress | None = None,
) -> tuple[Trainer, Any, np.ndarray]:
    """Train every seed of `config` (reusing `trainer`'s compiled programs when given).

    With `eval_points` K > 0, `on_eval(trainer, state, env_steps)` runs after K evenly spaced
    host calls (the last one included), for a learning curve of evaluations. `progress` is
    advanced after every host call.

    Returns:
        (trainer, final state, train returns f32[S, U]).
    """
    trainer = trainer or Trainer(config)
    state = trainer.init(key)
    curves = []
    calls = trainer.num_updates // config.run.log_every
    for call in range(calls):
        state, metrics = trainer.update(state)
        curves.append(np.asarray(metrics["return"]))
        if progress is not None:
            progress.advance(config.run.log_every, float(np.nanmean(curves[-1])))
        if (
            on_eval is not None
            and eval_points
            and (call + 1) * eval_points // calls != (call * eval_points // calls)
        ):
            on_eval(trainer, state, (call + 1) * config.run.log_every * config.steps_per_update)
    return trainer, state, np.concatenate(curves, axis=1)


# ---- evaluation -------------------------------------------------------------------------------


def _eval_steps(trainer: Trainer) -> int:
    return max(task.env.max_steps for task in trainer.layout.tasks)


def _policy_rewards(
    trainer: Trainer, params: Any, key: jax.Array, greedy: bool = False
) -> tuple[list, list, list]:
    """One seed's trained policy (sampling its actions, or its mode when `greedy`) from fresh
    episodes.

    Returns:
        per task: returns f32[B_i] and rewards f32[T_i, B_i, N_i] of each env's first
        episode (T_i = the task's max_steps), and the initial batched env states.
    """
    layout, networks = trainer.layout, trainer.networks
    reset_key, roll_key = jax.random.split(key)
    start = reset_runner(reset_key, layout, networks)

    def _body(runner: Any, step_key: jax.Array) -> tuple:
        runner, (transition, stats) = rollout_step(
            layout, networks, params, runner, step_key, greedy=greedy
        )
        return runner, (transition.reward, stats)

    steps = jax.random.split(roll_key, _eval_steps(trainer))
    _, (reward, stats) = jax.lax.scan(_body, start, steps)
    returns, rewards = [], []
    for task, offset in zip(layout.tasks, layout.env_offsets, strict=True):
        window = slice(offset, offset + task.num_envs)
        last = task.env.max_steps - 1  # every env starts at reset: its first episode ends here
        returns.append(stats.episode_return[last, window])
        rewards.append(reward[: task.env.max_steps, window, : task.env.num_agents])
    return returns, rewards, [runner.env_state for runner in start.tasks]


def _random_rewards(trainer: Trainer, key: jax.Array) -> tuple[list, list]:
    """The same episodes (same reset keys as `reset_runner`) under uniform legal actions.

    Returns:
        per task: returns f32[B_i] and rewards f32[T_i, B_i, N_i].
    """
    layout = trainer.layout
    reset_key, roll_key = jax.random.split(key)
    returns, rewards = [], []
    task_keys = jax.random.split(reset_key, layout.num_tasks)
    roll_keys = jax.random.split(roll_key, layout.num_tasks)
    for task, task_key, task_roll_key in zip(layout.tasks, task_keys, roll_keys, strict=True):
        vector_env = task.vector_env
        _, env_state = vector_env.reset(task_key)

        def _body(state: Any, step_key: jax.Array, task=task, vector_env=vector_env) -> tuple:
            action_key, env_key = jax.random.split(step_key)
            action_keys = jax.random.split(action_key, task.num_envs)
            actions = jax.vmap(random_actions, in_axes=(0, None, 0))(action_keys, task.env, state)
            _, state, reward, _, _ = vector_env.step(env_key, state, actions)
            return state, reward

        steps = jax.random.split(task_roll_key, task.env.max_steps)
        _, reward = jax.lax.scan(_body, env_state, steps)
        returns.append(reward.mean(axis=-1).sum(axis=0))
        rewards.append(reward)
    return returns, rewards


def evaluate(trainer: Trainer, params: Any, keys: jax.Array) -> dict[str, Any]:
    """Trained vs random on the same episodes, one eval key per seed (shared by both policies).

    Args:
        params: the trained parameters with a leading seed axis S; keys: key[S].

    Returns:
        {"trained": [per task f32[S, B_i]], "random": [...], "accuracy": per task, for
        n-back tasks {"trained": f32[S, max_n] (sampled actions), "greedy": f32[S, max_n]
        (the policy's mode), "random": f32[S, max_n]} (NaN where no episode drew that n),
        else None}.
    """
    if id(trainer) not in _EVAL_PROGRAMS:  # compile once per trainer
        _EVAL_PROGRAMS[id(trainer)] = (
            jax.jit(jax.vmap(lambda p, k: _policy_rewards(trainer, p, k))),
            jax.jit(jax.vmap(lambda k: _random_rewards(trainer, k))),
            jax.jit(jax.vmap(lambda p, k: _policy_rewards(trainer, p, k, greedy=True))),
        )
    policy_program, random_program, greedy_program = _EVAL_PROGRAMS[id(trainer)]
    trained_returns, trained_rewards, start_states = policy_program(params, keys)
    random_returns, random_rewards = random_program(keys)
    has_nback = any(task.name == "nback" for task in trainer.layout.tasks)
    greedy_rewards = greedy_program(params, keys)[1] if has_nback else None
    accuracy = []
    for index, task in enumerate(trainer.layout.tasks):
        if task.name != "nback":
            accuracy.append(None)
            continue
        lags = np.asarray(start_states[index].n)  # i32[S, B]
        accuracy.append(
            {
                "trained": nback_accuracy(np.asarray(trained_rewards[index]), lags, task.env.max_n),
                "greedy": nback_accuracy(np.asarray(greedy_rewards[index]), lags, task.env.max_n),
                "random": nback_accuracy(np.asarray(random_rewards[index]), lags, task.env.max_n),
            }
        )
    return {
        "trained": [np.asarray(r) for r in trained_returns],
        "random": [np.asarray(r) for r in random_returns],
        "accuracy": accuracy,
    }


def nback_accuracy(rewards: np.ndarray, lags: np.ndarray, max_n: int) -> np.ndarray:
    """Fraction of correct answers per hidden lag.

    Args:
        rewards: f32[S, T, B, 1] n-back rewards (1 = correct answer) of one episode per env.
        lags: i32[S, B] the episode's n.

    Returns:
        f32[S, max_n]: mean reward over the steps of the episodes with that n (NaN if none).
    """
    per_episode = rewards[..., 0].mean(axis=1)  # f32[S, B]
    result = np.full((rewards.shape[0], max_n), np.nan, np.float32)
    for n in range(max_n):
        chosen = lags == n
        counts = chosen.sum(axis=1)
        totals = np.where(chosen, per_episode, 0.0).sum(axis=1)
        result[:, n] = np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)
    return result


# ---- the table --------------------------------------------------------------------------------


def _stack_seeds(results: list[dict]) -> dict[str, Any]:
    """Concatenate single-seed `evaluate` results along the seed axis."""

    def _cat(*parts: Any) -> Any:
        return None if parts[0] is None else np.concatenate(parts)

    return jax.tree.map(_cat, *results, is_leaf=lambda leaf: leaf is None)


def run_cell(
    cell: Cell,
    budget_scale: float,
    num_seeds: int,
    seed: int,
    seed_loop: bool = False,
    extra: tuple[str, ...] = (),
    eval_points: int = 0,
    progress: Progress | None = None,
) -> list[dict]:
    """Train and evaluate one cell (with `extra` overrides after its own); a row per task.

    `eval_points` K > 0 (vmapped seeds only) also evaluates K times during training and keeps
    each task's n-back accuracy (or mean return) per point in the row's "progress". A bar for
    the cell's updates joins `progress` while it trains."""
    start = time.perf_counter()
    eval_keys = jax.random.split(jax.random.key(EVAL_SEED), num_seeds)
    points: list[tuple[int, dict]] = []
    config = cell_config(cell, budget_scale, 1 if seed_loop else num_seeds, extra)
    bar = CellProgress(
        progress or Progress(disable=True),
        cell.label,
        config.num_updates * (num_seeds if seed_loop else 1),
    )

    def _on_eval(trainer: Trainer, state: Any, env_steps: int) -> None:
        points.append((env_steps, evaluate(trainer, state.params, eval_keys)))
        # f32[S]: each seed's mean return, averaged over tasks
        per_task = [np.asarray(t).mean(axis=1) for t in points[-1][1]["trained"]]
        bar.evaluated(env_steps, np.mean(per_task, axis=0))

    if seed_loop:
        # one compiled single-seed program, seeds one after another (see `main --seed-loop`)
        trainer, parts = Trainer(config), []
        for index, key in enumerate(jax.random.split(jax.random.key(seed), num_seeds)):
            _, state, part_curves = train(config, key, trainer, progress=bar)
            part_result = evaluate(trainer, state.params, eval_keys[index : index + 1])
            parts.append((part_curves, part_result))
        curves = np.concatenate([part[0] for part in parts])
        result = _stack_seeds([part[1] for part in parts])
    else:
        trainer, state, curves = train(
            config, jax.random.key(seed), eval_points=eval_points, on_eval=_on_eval, progress=bar
        )
        result = evaluate(trainer, state.params, eval_keys)
    bar.close()
    seconds = time.perf_counter() - start
    rows = []
    for index, label in enumerate(trainer.task_labels):
        trained = result["trained"][index].mean(axis=1)  # f32[S]: mean over episodes
        random = result["random"][index].mean(axis=1)
        accuracy = result["accuracy"][index]
        rows.append(
            {
                "cell": cell.label,
                "env": label,
                "model": config.model.name,
                "env_steps": config.num_updates * config.steps_per_update,
                "seeds": num_seeds,
                "random": random.tolist(),
                "trained": trained.tolist(),
                "train_curve_last": np.nanmean(curves[:, -max(1, curves.shape[1] // 10) :]),
                "accuracy": None
                if accuracy is None
                else {k: v.tolist() for k, v in accuracy.items()},
                "seconds": seconds,
                "overrides": list(extra),
                "progress": [_progress_point(steps, part, index) for steps, part in points],
            }
        )
    return rows


def _progress_point(env_steps: int, result: dict, index: int) -> dict:
    """One evaluation during training: env steps, mean return, n-back accuracy (greedy)."""
    accuracy = result["accuracy"][index]
    return {
        "env_steps": env_steps,
        "trained": result["trained"][index].mean(axis=1).tolist(),
        "greedy_accuracy": None if accuracy is None else accuracy["greedy"].tolist(),
        "sampled_accuracy": None if accuracy is None else accuracy["trained"].tolist(),
    }


def _mean_std(values: list[float]) -> str:
    values = np.asarray(values)
    return f"{values.mean():.3f} +- {values.std():.3f}"


def markdown(rows: list[dict], header: str) -> str:
    """The learning table (and the n-back accuracy table when any row has one)."""
    lines = [
        header,
        "",
        "| cell | env | model | env steps | random return | trained return | margin | wall s |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        margin = np.mean(row["trained"]) - np.mean(row["random"])
        lines.append(
            f"| {row['cell']} | {row['env']} | {row['model']} | {row['env_steps']:,} |"
            f" {_mean_std(row['random'])} | {_mean_std(row['trained'])} | {margin:+.3f} |"
            f" {row['seconds']:.0f} |"
        )
    nback = [row for row in rows if row["accuracy"] is not None]
    if nback:
        max_n = max(len(row["accuracy"]["trained"][0]) for row in nback)
        lines += [
            "",
            "n-back accuracy per hidden lag n (mean over seeds; chance-level policy ~0.5;"
            " trained = sampled actions, greedy = the policy's mode; min = the worst seed's"
            " worst n):",
            "",
            "| cell | model | policy | " + " | ".join(f"n={n}" for n in range(max_n)) + " | min |",
            "|---|---|---|" + "---:|" * (max_n + 1),
        ]
        for row in nback:
            for policy in ("random", "trained", "greedy"):
                if policy not in row["accuracy"]:  # rows recorded before greedy existed
                    continue
                per_seed = np.asarray(row["accuracy"][policy], np.float32)  # f32[S, n]
                per_n = np.nanmean(per_seed, axis=0)
                cells = [f"{v:.2f}" if not math.isnan(v) else "-" for v in per_n]
                cells += ["-"] * (max_n - len(cells))
                cells.append(f"{np.nanmin(per_seed):.2f}")
                lines.append(
                    f"| {row['cell']} | {row['model']} | {policy} | " + " | ".join(cells) + " |"
                )
    lines += _progress_markdown(nback)
    return "\n".join(lines) + "\n"


def _progress_markdown(rows: list[dict]) -> list[str]:
    """Greedy n-back accuracy per lag at each evaluation during training (mean over seeds)."""
    lines = []
    for row in rows:
        points = [point for point in row.get("progress", []) if point["greedy_accuracy"]]
        if not points:
            continue
        max_n = len(points[0]["greedy_accuracy"][0])
        lines += [
            "",
            f"{row['cell']} ({row['model']}): greedy accuracy per n during training"
            " (mean over seeds; min = the worst seed's worst n):",
            "",
            "| env steps | " + " | ".join(f"n={n}" for n in range(max_n)) + " | min |",
            "|---:|" + "---:|" * (max_n + 1),
        ]
        for point in points:
            per_seed = np.asarray(point["greedy_accuracy"], np.float32)
            cells = [f"{v:.2f}" for v in np.nanmean(per_seed, axis=0)]
            cells.append(f"{np.nanmin(per_seed):.2f}")
            lines.append(f"| {point['env_steps']:,} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", nargs="*", default=None, help="cell labels (default: all)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per cell (vmap axis)")
    parser.add_argument("--seed", type=int, default=0, help="root training seed")
    parser.add_argument("--budget-scale", type=float, default=1.0, help="x each cell's budget")
    parser.add_argument(
        "--seed-loop",
        action="store_true",
        help="train seeds one after another (one compiled 1-seed program) instead of as a vmap"
        " axis (a workaround for an XLA:CPU scheduler deadlock, since fixed by marlax's XLA flag)",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="config overrides applied to every selected cell (after the cell's own)",
    )
    parser.add_argument(
        "--eval-points",
        type=int,
        default=0,
        help="also evaluate this many times during training (n-back accuracy over training)",
    )
    parser.add_argument("--json", default=None, help="merge result rows into this JSON file")
    parser.add_argument("--markdown", default=None, help="write the table here")
    args = parser.parse_args()

    known = {cell.label: cell for cell in CELLS}
    labels = args.cells or list(known)
    unknown = [label for label in labels if label not in known]
    if unknown:
        parser.error(f"unknown cells {unknown}; choose from {list(known)}")
    rows: list[dict] = []
    if args.json and Path(args.json).exists():
        rows = [r for r in json.loads(Path(args.json).read_text()) if r["cell"] not in labels]
    console = Console(width=None if Console().is_terminal else 200)  # logs: whole lines
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),  # cells, or a cell's updates
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        cells = progress.add_task("cells", total=len(labels))
        for label in labels:
            cell = known[label]
            if not cell.path.exists():
                console.print(f"skip {label}: {cell.path} missing")
                progress.advance(cells)
                continue
            new_rows = run_cell(
                cell,
                args.budget_scale,
                args.seeds,
                args.seed,
                args.seed_loop,
                tuple(args.overrides),
                args.eval_points,
                progress,
            )
            rows += new_rows
            for row in new_rows:
                console.print(
                    f"{row['cell']} {row['env']}: random {_mean_std(row['random'])} trained"
                    f" {_mean_std(row['trained'])} ({row['seconds']:.0f} s)"
                )
            if args.json:
                Path(args.json).write_text(json.dumps(rows, default=float))
            progress.advance(cells)
    header = (
        f"Budget scale {args.budget_scale}, {args.seeds} seeds (root seed {args.seed}), eval seed"
        f" {EVAL_SEED}, seeds {'in a loop' if args.seed_loop else 'vmapped'},"
        f" device {jax.devices()[0].platform}."
    )
    text = markdown(rows, header)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
