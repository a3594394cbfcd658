"""What every learner's `loop.py` and policy loader share: the schedule of a config, starting or
resuming from the latest checkpoint, saving one, restoring one to play, the finiteness check.

    trainer = QTrainer(config)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        state, done = start_or_resume(trainer, checkpointer, config.run.seed)
        save = partial(save_checkpoint, trainer, checkpointer)
        learner = Learner(name="iql", update=trainer.update, save=save)
        run_host_loop(folder, learner, run_schedule(config, trainer), state, updates_done=done)

A trainer here is anything with `num_updates`, `env_steps_per_update`, `init(key)` and
`abstract_state()` (and, optionally, `place(state)` to put a restored state on its devices).
"""

from __future__ import annotations

from typing import Any, Protocol

import jax
import jax.numpy as jnp

from marlax.algorithms.common.host_loop import Schedule
from marlax.config import TrainConfig
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.validate import require


class CheckpointedTrainer(Protocol):
    """The part of a learner's trainer the shared loop helpers use."""

    @property
    def num_updates(self) -> int: ...

    @property
    def env_steps_per_update(self) -> int: ...

    def init(self, key: jax.Array) -> Any: ...

    def abstract_state(self) -> Any: ...


def run_schedule(config: TrainConfig, trainer: CheckpointedTrainer) -> Schedule:
    """The host loop's schedule: every update of the run, `run.log_every` per call, a
    checkpoint every `run.checkpoint_every`."""
    return Schedule(
        total_updates=trainer.num_updates,
        updates_per_call=config.run.log_every,
        checkpoint_every=config.run.checkpoint_every,
        env_steps_per_update=trainer.env_steps_per_update,
        num_seeds=config.run.num_seeds,
    )


def start_or_resume(
    trainer: CheckpointedTrainer, checkpointer: Checkpointer, seed: int
) -> tuple[Any, int]:
    """(the latest checkpoint, placed on the trainer's devices, or a fresh state from `seed`;
    the updates already done)."""
    latest = checkpointer.latest_step()
    if latest is None:
        return trainer.init(jax.random.key(seed)), 0
    restored = checkpointer.restore(latest, trainer.abstract_state())
    place = getattr(trainer, "place", None)
    return (place(restored) if place is not None else restored), latest


def save_checkpoint(
    trainer: CheckpointedTrainer, checkpointer: Checkpointer, state: Any, update: int
) -> None:
    """Checkpoint `update` of `state` (on the host), with its update and env-step counts."""
    metadata = {"update": update, "env_steps": update * trainer.env_steps_per_update}
    checkpointer.save(update, jax.device_get(state), metadata)


@jax.jit
def _all_finite(tree: Any) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


def all_finite(tree: Any) -> bool:
    """Every float of every leaf of `tree` is finite (one small jitted reduction)."""
    return bool(_all_finite(tree))


def restore_checkpoint(
    folder: RunFolder, trainer: CheckpointedTrainer, step: int | None
) -> tuple[Any, int, int]:
    """(the state saved at `step`, None = the latest, on the host; that step; its env steps
    per seed) of the run in `folder`, for playing or evaluating it.

    Raises:
        ConfigError: the run has no checkpoint, or none at `step`.
    """
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        steps = checkpointer.all_steps()
        require(
            bool(steps), "run", folder.name, "a run with at least one checkpoint (train it longer)"
        )
        step = steps[-1] if step is None else step
        saved = ", ".join(str(saved) for saved in steps)
        require(step in steps, "checkpoint", step, f"one of the saved steps: {saved}")
        state = checkpointer.restore(step, trainer.abstract_state())
        metadata = checkpointer.metadata(step)
    return state, step, int(metadata.get("env_steps", step * trainer.env_steps_per_update))
