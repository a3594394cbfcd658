"""A sebulba run: a `SebulbaTrainer` driven by the shared host loop, with orbax checkpoints.

    folder = create_run(config)                        # marlax.algorithms.common.run_folders
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

The checkpoint holds the learner's parameters, optimiser state, key and update count (the
layout of `SebulbaState`). A resumed run continues from them with fresh episodes in the host
envs; it is not bitwise equal to an uninterrupted run (see `trainer`).
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.sebulba.learner import SebulbaState
from marlax.algorithms.sebulba.ray_actors import import_ray
from marlax.algorithms.sebulba.trainer import SebulbaTrainer
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

LEARNER_NAME = "sebulba"

_DIVERGENCE_HINT = "lower ppo.learning_rate or ppo.max_grad_norm and resume, or start again"


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[SebulbaState]:
    """Train (or continue) the run in `folder` to `ppo.total_env_steps` (whole updates).

    The actors stop when the loop ends, however it ends (finished, signal, error), and Ray
    too if the trainer started it.

    Raises:
        TrainingDivergedError: a NaN/inf loss or parameter; the run is marked failed and its
            last good checkpoint kept.
        ConfigError: backend "ray" without Ray installed (before training starts), or
            `ActorsLostError` (a Ray actor died more than `sebulba.ray_max_restarts` times; the
            run is marked failed and its last checkpoint kept).
    """
    if config.sebulba.backend == "ray":
        import_ray()  # fail before the run starts when Ray is missing
    trainer = SebulbaTrainer(config)
    try:
        return train_checkpointed(
            folder,
            config,
            trainer,
            name=LEARNER_NAME,
            healthy=_healthy,
            divergence_hint=_DIVERGENCE_HINT,
            console=console,
        )
    finally:
        trainer.close()


def _healthy(state: SebulbaState) -> bool:
    """Every parameter is finite."""
    return all_finite(state.params)
