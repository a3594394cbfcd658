"""The host side of training: a run folder, progress, metrics, checkpoints, resume.

Everything per step happens in `Trainer.update` (one jitted call for `run.log_every` updates);
this loop only logs, saves and draws between calls. A run resumed from its latest checkpoint
continues with the very same jitted calls on the very same state, so it ends with exactly the
parameters an uninterrupted run reaches.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import TrainState
from marlax.config import TrainConfig, config_to_dict, load_from_dict
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import MetricsWriter, read_metrics
from marlax.runs.naming import new_run_name
from marlax.runs.plots import plot_curves
from marlax.runs.restore import restore_state


class TrainingDivergedError(RuntimeError):
    """A loss or a parameter became NaN or infinite; the last good checkpoint is kept."""


@dataclass(frozen=True)
class TrainResult:
    """What a finished run reached (means over seeds)."""

    folder: RunFolder
    updates: int
    env_steps: int
    final_return: float
    best_return: float


def create_run(config: TrainConfig) -> RunFolder:
    """A new run folder for `config` (named by `run.name` or a fresh adjective-animal-NN)."""
    runs_dir = Path(config.run.runs_dir)
    name = config.run.name or new_run_name(runs_dir)
    return RunFolder.create(runs_dir, name, config_to_dict(config))


def open_run(runs_dir: Path, name: str) -> tuple[RunFolder, TrainConfig]:
    """An existing run and the config it was started with (for `--resume`)."""
    folder = RunFolder.open(runs_dir, name)
    return folder, load_from_dict(folder.read_config())


def _rows(metrics: dict[str, np.ndarray], first_update: int, steps_per_update: int) -> list[dict]:
    """One metrics row per update: means over seeds (NaN-aware) of f32[S, log_every] arrays."""
    count = next(iter(metrics.values())).shape[1]
    rows = []
    for offset in range(count):
        update = first_update + offset + 1
        row: dict[str, Any] = {"update": update}
        for key, values in metrics.items():
            column = values[:, offset]
            finite = column[np.isfinite(column)]
            row[key] = float(finite.mean()) if finite.size else math.nan
        row["env_steps"] = update * steps_per_update
        rows.append(row)
    return rows


def _diverged(rows: list[dict]) -> dict | None:
    """The first row whose losses are not finite, if any."""
    for row in rows:
        if any(key.startswith("loss/") and not math.isfinite(value) for key, value in row.items()):
            return row
    return None


@jax.jit
def _params_finite(state: TrainState) -> jax.Array:
    leaves = jax.tree.leaves(state.params)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} env-steps"),
        TextColumn("{task.fields[speed]} steps/s"),
        TextColumn("return {task.fields[score]}"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


class _Run:
    """The state of one training loop: trainer, writers, progress."""

    def __init__(self, folder: RunFolder, config: TrainConfig, console: Console) -> None:
        self.folder, self.config, self.console = folder, config, console
        self.trainer = Trainer(config)
        self.checkpointer = Checkpointer(folder.checkpoint_dir)
        self.metrics = MetricsWriter(folder)
        self.steps_per_update = self.trainer.env_steps_per_update

    def start_state(self) -> tuple[TrainState, int]:
        """The latest checkpoint (resume) or a fresh state; and the updates already done."""
        latest = self.checkpointer.latest_step()
        if latest is None:
            self.metrics.truncate_after(0)
            return self.trainer.init(jax.random.key(self.config.run.seed)), 0
        state = restore_state(self.trainer, self.checkpointer, latest)
        self.metrics.truncate_after(latest * self.steps_per_update)
        return self.trainer.place(state), latest

    def save(self, state: TrainState, update: int) -> None:
        env_steps = update * self.steps_per_update
        metadata = {"update": update, "env_steps": env_steps}
        self.checkpointer.save(update, jax.device_get(state), metadata)
        plot_curves(read_metrics(self.folder.metrics_path), self.folder.curves_path)
        self.folder.write_status("running", update=update, env_steps=env_steps)


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> TrainResult:
    """Train (or continue) the run in `folder` to `ppo.total_env_steps`.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its last
            good checkpoint kept.
    """
    console = console or Console()
    run = _Run(folder, config, console)
    trainer, log_every = run.trainer, config.run.log_every
    total_calls = trainer.num_updates // log_every
    state, done = run.start_state()
    total_steps = total_calls * log_every * run.steps_per_update
    last_return = math.nan
    with _progress(console) as progress:
        task = progress.add_task(
            folder.name,
            total=total_steps,
            completed=done * run.steps_per_update,
            speed="-",
            score="-",
        )
        for _ in range(done // log_every, total_calls):
            started = time.perf_counter()
            state, metrics = trainer.update(state)
            rows = _rows(jax.device_get(metrics), done, run.steps_per_update)
            bad = _diverged(rows)
            if bad is not None or not bool(_params_finite(state)):
                _fail(run, done, bad)
            done += log_every
            for row in rows:
                run.metrics.write(row.pop("env_steps"), row)
            finished = [row["return"] for row in rows if math.isfinite(row["return"])]
            last_return = finished[-1] if finished else last_return
            seconds = time.perf_counter() - started
            speed = log_every * run.steps_per_update * config.run.num_seeds / seconds
            progress.update(
                task,
                completed=done * run.steps_per_update,
                speed=f"{speed:,.0f}",
                score=f"{last_return:.3g}",
            )
            if done % config.run.checkpoint_every == 0:
                run.save(state, done)
    run.save(state, done)
    run.metrics.close()
    run.checkpointer.close()
    rows = read_metrics(folder.metrics_path)
    returns = [row["return"] for row in rows if row.get("return") is not None]
    best = max(returns) if returns else math.nan
    folder.write_status(
        "finished", update=done, env_steps=done * run.steps_per_update, best_return=best
    )
    return TrainResult(folder, done, done * run.steps_per_update, last_return, best)


def _fail(run: _Run, done: int, row: dict | None) -> None:
    """Mark the run failed, keep the last good checkpoint, raise `TrainingDivergedError`."""
    kept = run.checkpointer.latest_step()
    where = f"update {row['update']}" if row else f"the updates after {done}"
    message = (
        f"training diverged: a loss or parameter became NaN/inf at {where}; "
        f"the last good checkpoint is update {kept} (lower ppo.learning_rate or "
        "ppo.max_grad_norm and resume, or start again)"
    )
    run.metrics.close()
    run.folder.write_status("failed", update=done, message=message)
    plot_curves(read_metrics(run.folder.metrics_path), run.folder.curves_path)
    raise TrainingDivergedError(message)
