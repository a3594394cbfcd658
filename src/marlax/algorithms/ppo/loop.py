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

from rich.console import Console

from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult, TrainingDivergedError
from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import TrainState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

__all__ = ["TrainingDivergedError", "create_run", "open_run", "train_run"]

LEARNER_NAME = "ppo"

_DIVERGENCE_HINT = "lower ppo.learning_rate or ppo.max_grad_norm and resume, or start again"


def train_run(
    folder: RunFolder,
    config: TrainConfig,
    console: Console | None = None,
    *,
    name: str = LEARNER_NAME,
) -> LoopResult[TrainState]:
    """Train (or continue) the run in `folder` to `ppo.total_env_steps` (whole updates).

    Args:
        name: the learner's name in status.json and `marlax runs` ("rl2" for RL², which is
            PPO on trial envs: `marlax.algorithms.rl2.loop`).

    Returns:
        The host loop's result: updates and env steps reached, final and best mean return
        (None when no episode ended), and the signal's name if SIGINT/SIGTERM stopped it.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    trainer = Trainer(config)  # update(state, size): size == log_every reuses its program
    return train_checkpointed(
        folder,
        config,
        trainer,
        name=name,
        healthy=_healthy,
        divergence_hint=_DIVERGENCE_HINT,
        console=console,
    )


def _healthy(state: TrainState) -> bool:
    """Every parameter is finite."""
    return all_finite(state.params)
