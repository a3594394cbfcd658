"""PPO's training run: a `Trainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)      # marlax.algorithms.common.run_folders (or open_run)
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

Everything per update happens in `Trainer.update` (one jitted call for `run.log_every`
updates, and one more program for the remainder when `run.log_every` does not divide the run);
`marlax.algorithms.common.host_loop` logs, saves, draws and handles signals between calls.
A run resumed from its latest checkpoint continues with the very same jitted calls on the
very same state, so it ends with exactly the parameters an uninterrupted run reaches.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from rich.console import Console

from marlax.algorithms.common.host_loop import (
    Learner,
    LoopResult,
    Schedule,
    TrainingDivergedError,
    run_host_loop,
)
from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.ppo.restore import restore_state
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import TrainState
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder

__all__ = ["TrainingDivergedError", "create_run", "open_run", "ppo_schedule", "train_run"]

LEARNER_NAME = "ppo"

_DIVERGENCE_HINT = "lower ppo.learning_rate or ppo.max_grad_norm and resume, or start again"


def ppo_schedule(config: TrainConfig, trainer: Trainer) -> Schedule:
    """The host loop's schedule for `config`: every update of the run, `log_every` per call."""
    return Schedule(
        total_updates=trainer.num_updates,
        updates_per_call=config.run.log_every,
        checkpoint_every=config.run.checkpoint_every,
        env_steps_per_update=trainer.env_steps_per_update,
        num_seeds=config.run.num_seeds,
    )


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[TrainState]:
    """Train (or continue) the run in `folder` to `ppo.total_env_steps` (whole updates).

    Returns:
        The host loop's result: updates and env steps reached, final and best mean return
        (None when no episode ended), and the signal's name if SIGINT/SIGTERM stopped it.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    trainer = Trainer(config)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        state, done = _start_state(trainer, checkpointer, config.run.seed)
        learner = Learner(
            name=LEARNER_NAME,
            update=trainer.update,  # (state, size): size == log_every reuses its program
            save=lambda state, update: _save(trainer, checkpointer, state, update),
            healthy=lambda state: bool(_params_finite(state)),
            divergence_hint=_DIVERGENCE_HINT,
        )
        schedule = ppo_schedule(config, trainer)
        return run_host_loop(folder, learner, schedule, state, updates_done=done, console=console)


def _start_state(trainer: Trainer, checkpointer: Checkpointer, seed: int) -> tuple[TrainState, int]:
    """The latest checkpoint (resume) or a fresh state; and the updates already done."""
    latest = checkpointer.latest_step()
    if latest is None:
        return trainer.init(jax.random.key(seed)), 0
    return trainer.place(restore_state(trainer, checkpointer, latest)), latest


def _save(trainer: Trainer, checkpointer: Checkpointer, state: TrainState, update: int) -> None:
    metadata = {"update": update, "env_steps": update * trainer.env_steps_per_update}
    checkpointer.save(update, jax.device_get(state), metadata)


@jax.jit
def _params_finite(state: TrainState) -> jax.Array:
    """bool[]: every parameter of every seed is finite."""
    leaves = jax.tree.leaves(state.params)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))
