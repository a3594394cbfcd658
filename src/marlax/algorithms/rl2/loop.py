"""RL²'s training run: PPO's host loop around a `Trainer`.

    folder = create_run(config)                        # config.algorithm == "rl2"
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

Run folders, checkpoints, exact resume, signals and metric lines are PPO's (see
`marlax.algorithms.ppo.loop`); the `return` metric is the mean return of whole trials.
"""

from __future__ import annotations

from functools import partial

from rich.console import Console

from marlax.algorithms.common.checkpointed import (
    all_finite,
    run_schedule,
    save_checkpoint,
    start_or_resume,
)
from marlax.algorithms.common.host_loop import Learner, LoopResult, run_host_loop
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import TrainState
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder

LEARNER_NAME = "rl2"

_DIVERGENCE_HINT = "lower ppo.learning_rate or ppo.max_grad_norm and resume, or start again"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[TrainState]:
    """Train (or continue) the RL² run in `folder` to `ppo.total_env_steps` (whole updates).

    Returns:
        The host loop's result (updates, env steps, final and best mean trial return, and
        the signal's name if SIGINT/SIGTERM stopped it).

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    trainer = Trainer(config)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        state, done = start_or_resume(trainer, checkpointer, config.run.seed)
        learner = Learner(
            name=LEARNER_NAME,
            update=trainer.update,
            save=partial(save_checkpoint, trainer, checkpointer),
            healthy=lambda state: all_finite(state.params),
            divergence_hint=_DIVERGENCE_HINT,
        )
        schedule = run_schedule(config, trainer)
        return run_host_loop(folder, learner, schedule, state, updates_done=done, console=console)
