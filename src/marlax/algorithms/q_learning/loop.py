"""A Q-learning run: a `QTrainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)                        # marlax.algorithms.common.runs
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

The checkpoint holds the whole state, replay included, so a resumed run continues with the
very same replay contents and ends bitwise equal to an uninterrupted one.
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.algorithms.q_learning.update import QTrainState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

_DIVERGENCE_HINT = (
    "lower q_learning.learning_rate or q_learning.max_grad_norm and resume, or start again"
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
    return train_checkpointed(
        folder,
        config,
        trainer,
        name=config.algorithm,
        healthy=trainer.params_finite,
        # the TD loss is NaN (no value) on updates before learning starts
        finite_prefixes=(),
        divergence_hint=_DIVERGENCE_HINT,
        console=console,
    )
