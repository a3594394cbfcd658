"""A Q-learning run: a `QTrainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)                        # marlax.algorithms.common.runs
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

The checkpoint holds the whole state, replay included, so a resumed run continues with the
very same replay contents and ends bitwise equal to an uninterrupted one.
"""

from __future__ import annotations

import jax
from rich.console import Console

from marlax.algorithms.common.host_loop import Learner, LoopResult, Schedule, run_host_loop
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.algorithms.q_learning.update import QTrainState
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder

_DIVERGENCE_HINT = (
    "lower q_learning.learning_rate or q_learning.max_grad_norm and resume, or start again"
)


def q_schedule(config: TrainConfig, trainer: QTrainer) -> Schedule:
    """The host loop's schedule: every update of the run, `run.log_every` per call."""
    return Schedule(
        total_updates=trainer.num_updates,
        updates_per_call=config.run.log_every,
        checkpoint_every=config.run.checkpoint_every,
        env_steps_per_update=trainer.env_steps_per_update,
        num_seeds=config.run.num_seeds,
    )


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[QTrainState]:
    """Train (or continue) the run in `folder` to `q_learning.total_env_steps` (whole updates).

    Raises:
        TrainingDivergedError: a NaN/inf parameter; the run is marked failed and its last good
            checkpoint kept.
    """
    trainer = QTrainer(config)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        latest = checkpointer.latest_step()
        if latest is None:
            state, done = trainer.init(jax.random.key(config.run.seed)), 0
        else:
            state, done = checkpointer.restore(latest, trainer.abstract_state()), latest
        learner = Learner(
            name=config.algorithm,
            update=trainer.update,
            save=lambda state, update: _save(trainer, checkpointer, state, update),
            healthy=trainer.params_finite,
            # the TD loss is NaN (no value) on updates before learning starts
            finite_prefixes=(),
            divergence_hint=_DIVERGENCE_HINT,
        )
        schedule = q_schedule(config, trainer)
        return run_host_loop(folder, learner, schedule, state, updates_done=done, console=console)


def _save(trainer: QTrainer, checkpointer: Checkpointer, state: QTrainState, update: int) -> None:
    metadata = {"update": update, "env_steps": update * trainer.env_steps_per_update}
    checkpointer.save(update, jax.device_get(state), metadata)
