"""A MAML run: a `MAMLTrainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)                        # marlax.algorithms.common.run_folders
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

The checkpoint holds the parameters, Adam's state and the key, so a resumed run draws the
very same tasks and episodes and ends bitwise equal to an uninterrupted one.
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.maml.trainer import MAMLTrainer, MAMLTrainState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

_DIVERGENCE_HINT = "lower maml.learning_rate or maml.inner_lr and resume, or start again"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[MAMLTrainState]:
    """Train (or continue) the run in `folder` to `maml.num_updates` outer updates.

    The score is "return": the mean episode return after the last inner step.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
    """
    trainer = MAMLTrainer(config)
    return train_checkpointed(
        folder,
        config,
        trainer,
        name="maml",
        healthy=trainer.params_finite,
        divergence_hint=_DIVERGENCE_HINT,
        console=console,
    )
