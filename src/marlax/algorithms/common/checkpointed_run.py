"""The body of every plain learner's `train_run`: a trainer driven by the shared host loop, fresh
or resumed from the run's latest orbax checkpoint.

    trainer = QTrainer(config)
    result = train_checkpointed(folder, config, trainer, name="iql",
                                healthy=trainer.params_finite, divergence_hint="lower ...")

A resumed run continues with the very same jitted calls on the very same state, so it ends
bitwise equal to an uninterrupted one. Learners whose host side does more between calls (PBT's
lineage) build their `Learner` themselves.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Protocol

from rich.console import Console

from marlax.algorithms.common.checkpointed import (
    CheckpointedTrainer,
    run_schedule,
    save_checkpoint,
    start_or_resume,
)
from marlax.algorithms.common.host_loop import HealthFn, Learner, LoopResult, run_host_loop
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder


class LoopTrainer(CheckpointedTrainer, Protocol):
    """A checkpointed trainer with the host loop's `update(state, num_updates)`."""

    def update(self, state: Any, num_updates: int | None = None) -> tuple[Any, dict]: ...


def train_checkpointed(
    folder: RunFolder,
    config: TrainConfig,
    trainer: LoopTrainer,
    *,
    name: str,
    healthy: HealthFn,
    divergence_hint: str,
    finite_prefixes: tuple[str, ...] = Learner.finite_prefixes,
    console: Console | None = None,
) -> LoopResult:
    """Train (or continue) the run in `folder` with `trainer` to `trainer.num_updates`.

    Args:
        folder: the run folder (created or opened by `marlax.algorithms.common.run_folders`).
        config: the run's config (`run.seed`, `run.log_every`, `run.checkpoint_every`, ...).
        trainer: the learner's trainer (see `LoopTrainer`).
        name, healthy, divergence_hint, finite_prefixes: the `Learner`'s fields.
        console: where the progress bar and metric lines go (None: the default console).

    Returns:
        The host loop's result.

    Raises:
        TrainingDivergedError: a watched metric or `healthy` failed; the run is marked failed
            and its last good checkpoint kept.
    """
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        state, done = start_or_resume(trainer, checkpointer, config.run.seed)
        learner = Learner(
            name=name,
            update=trainer.update,
            save=partial(save_checkpoint, trainer, checkpointer),
            healthy=healthy,
            finite_prefixes=finite_prefixes,
            divergence_hint=divergence_hint,
        )
        schedule = run_schedule(config, trainer)
        return run_host_loop(folder, learner, schedule, state, updates_done=done, console=console)
