"""A MADDPG / SAC run: an `OffPolicyTrainer` driven by the shared host loop, with orbax
checkpoints.

    folder = create_run(config)                        # marlax.algorithms.common.run_folders
    result = train_run(folder, config)                 # fresh, or resumed from the latest save

The checkpoint holds the whole state (networks, targets, optimisers, the replay and the envs
mid-episode), so a resumed run continues exactly where it stopped and ends bitwise equal to
an uninterrupted one.
"""

from __future__ import annotations

from rich.console import Console

from marlax.algorithms.common.checkpointed_run import train_checkpointed
from marlax.algorithms.common.host_loop import LoopResult
from marlax.algorithms.off_policy.trainer import OffPolicyTrainer
from marlax.algorithms.off_policy.types import OffPolicyTrainState
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder

_DIVERGENCE_HINT = (
    "lower off_policy.critic_learning_rate, off_policy.actor_learning_rate or "
    "off_policy.max_grad_norm and resume, or start again"
)


def train_run(
    folder: RunFolder, config: TrainConfig, console: Console | None = None
) -> LoopResult[OffPolicyTrainState]:
    """Train (or continue) the run in `folder` to `off_policy.total_env_steps` (whole updates).

    Args:
        config: a `TrainConfig` with `algorithm` "maddpg" or "sac" (read: `envs[0]`,
            `off_policy`, `optimizer`, `run`).

    Raises:
        TrainingDivergedError: a NaN/inf parameter; the run is marked failed and its last good
            checkpoint kept.
    """
    trainer = OffPolicyTrainer.from_config(config)
    return train_checkpointed(
        folder,
        config,
        trainer,
        name=config.algorithm,
        healthy=trainer.params_finite,
        # the losses are NaN (no value) on updates before learning starts
        finite_prefixes=(),
        divergence_hint=_DIVERGENCE_HINT,
        console=console,
    )
