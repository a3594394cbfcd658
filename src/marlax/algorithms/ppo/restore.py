"""Open a PPO run's latest checkpoint: config, trainer and state (for `enjoy` and resume)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jax

from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import TrainState
from marlax.config import TrainConfig, load_from_dict
from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder


@dataclass(frozen=True)
class TrainedRun:
    """A run's resolved config, a trainer built from it, and its latest saved state.

    Attributes:
        folder: the run folder.
        config: the config the run was started with.
        trainer: a `Trainer` for that config (its networks and task layout).
        state: the saved `TrainState` on the host, leading seed axis S.
        update: updates done at that checkpoint.
        env_steps: env steps per seed at that checkpoint.
    """

    folder: RunFolder
    config: TrainConfig
    trainer: Trainer
    state: TrainState
    update: int
    env_steps: int


def restore_state(trainer: Trainer, checkpointer: Checkpointer, step: int | None) -> TrainState:
    """The saved TrainState at `step` (None = the latest), on the host."""
    return checkpointer.restore(step, trainer.abstract_state())


def load_trained(runs_dir: Path, name: str) -> TrainedRun:
    """The latest checkpoint of run `name` in `runs_dir`.

    Raises:
        ConfigError: no such run, or the run has no checkpoint yet.
    """
    folder = RunFolder.open(Path(runs_dir), name)
    config = load_from_dict(folder.read_config())
    trainer = Trainer(config, devices=jax.local_devices()[:1])
    checkpointer = Checkpointer(folder.checkpoint_dir)
    step = checkpointer.latest_step()
    if step is None:
        raise ConfigError("run", name, "a run with at least one checkpoint (train it longer)")
    state = restore_state(trainer, checkpointer, step)
    env_steps = int(
        checkpointer.metadata(step).get("env_steps", step * trainer.env_steps_per_update)
    )
    checkpointer.close()
    return TrainedRun(folder, config, trainer, state, step, env_steps)
