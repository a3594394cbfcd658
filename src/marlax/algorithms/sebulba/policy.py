"""A trained sebulba run as `RunPolicy`s (`algorithms.trained.POLICY_LOADERS["sebulba"]`).

A run on a marlax task (`sebulba.host_env` null: the round trip through `to_pettingzoo`)
plays in that task's JAX env like a PPO run: its networks are PPO's, built for the same
spaces, so PPO's `TrainedPolicy` takes the checkpoint's parameters as they are. A run on a
PettingZoo env has no JAX env for `marlax enjoy` / `marlax eval` to play; its parameters
are in the checkpoint (`SebulbaState.params`, PPO's layout) for host-side evaluation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import jax

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.ppo.restore import TrainedRun
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.sebulba.trainer import SebulbaTrainer
from marlax.config import TrainConfig
from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder

if TYPE_CHECKING:
    from marlax.algorithms.trained import PolicyRequest, RunPolicy


def restore_sebulba_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedRun:
    """The checkpoint `step` (None = the latest) of a sebulba run on a marlax task, with a PPO
    `Trainer` for its layout and networks (what PPO's policy reads).

    Raises:
        ConfigError: the run trained a PettingZoo env (`sebulba.host_env`), or has no
            checkpoint (at `step`).
    """
    if config.sebulba.host_env is not None:
        raise ConfigError(
            "run",
            folder.name,
            "a run on a marlax env: marlax enjoy/eval play JAX envs, and this run trained "
            f"{config.sebulba.host_env} (evaluate it on the host with from_pettingzoo)",
        )
    learner = SebulbaTrainer(config)
    state, step, env_steps = restore_checkpoint(folder, learner, step)
    ppo_trainer = Trainer(config, devices=jax.local_devices()[:1])
    return TrainedRun(folder, config, ppo_trainer, state, step, env_steps)


def load_sebulba_policies(
    folder: RunFolder, config: TrainConfig, request: PolicyRequest
) -> tuple[RunPolicy, ...]:
    """`PolicyLoader` of sebulba runs: PPO's policies of the run's parameters."""
    from marlax.algorithms.trained import ppo_run_policies

    trained = restore_sebulba_run(folder, config, request.checkpoint)
    return ppo_run_policies(trained, request, "sebulba")
