"""RL² runs are PPO runs on trial envs: `TaskConfig.make_env` wraps each task-family env in a
`TrialEnv` (k episodes of one task per trial), and PPO's `Trainer` builds its layout from it.
The rollout clears the policy's memory only where an env's episode (a whole trial) ends.

    trainer = Trainer(config)                   # config.algorithm == "rl2"
    state, metrics = trainer.update(trainer.init(jax.random.key(0)))   # metrics["return"]: trials
"""

from __future__ import annotations

import jax

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.ppo.restore import TrainedRun
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import TrainConfig
from marlax.runs.folder import RunFolder


def restore_rl2_run(folder: RunFolder, config: TrainConfig, step: int | None) -> TrainedRun:
    """Checkpoint `step` (None = the latest) of an RL² run, as a PPO `TrainedRun`.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    trainer = Trainer(config, devices=jax.local_devices()[:1])
    state, step, env_steps = restore_checkpoint(folder, trainer, step)
    return TrainedRun(folder, config, trainer, state, step, env_steps)
