"""An ES run: an `ESTrainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)                        # marlax.algorithms.common.run_folders
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

The checkpoint holds the whole evosax state (a pytree) and the key, so a resumed run
continues with the very same generations and ends bitwise equal to an uninterrupted one.
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.es.trainer import ESTrainer, ESTrainState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

_DIVERGENCE_HINT = "lower es.sigma_init or es.learning_rate and resume, or start again"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[ESTrainState]:
    """Train (or continue) the run in `folder` to `es.total_env_steps` (whole generations).

    Raises:
        TrainingDivergedError: a NaN/inf search mean; the run is marked failed and its last
            good checkpoint kept.
    """
    trainer = ESTrainer(config)
    return train_checkpointed(
        folder,
        config,
        trainer,
        name="es",
        healthy=trainer.params_finite,
        # ES has no loss; the returns of a bad member may be anything finite
        finite_prefixes=(),
        divergence_hint=_DIVERGENCE_HINT,
        console=console,
    )
