"""What population-based training carries between updates (leading member axis S).

The PPO members' own `TrainState` stays as plain PPO has it (same leaves, same checkpoint
layout inside `PBTState.train`); what PBT adds sits beside it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.ppo.types import TrainState

HYPERPARAMETERS = ("learning_rate", "entropy_coef", "clip_eps")
"""The hyperparameters PBT tunes, in the row order of `Hyperparams.matrix`."""


@struct.dataclass
class Hyperparams:
    """Each member's hyperparameters (f32[S] each; f32[] inside one member's update)."""

    learning_rate: jax.Array  # the step size before `ppo.anneal_lr`'s decay
    entropy_coef: jax.Array  # weight of the entropy bonus
    clip_eps: jax.Array  # ratio clip of the surrogate loss

    def matrix(self) -> jax.Array:
        """f32[3, S]: the rows of `HYPERPARAMETERS`."""
        return jnp.stack([getattr(self, name) for name in HYPERPARAMETERS])

    @classmethod
    def from_matrix(cls, rows: jax.Array) -> Hyperparams:
        """From f32[3, S] rows in `HYPERPARAMETERS` order."""
        return cls(**{name: rows[i] for i, name in enumerate(HYPERPARAMETERS)})


@struct.dataclass
class PBTState:
    """The population: PPO members, their hyperparameters, fitness so far and PBT's key."""

    train: TrainState  # [S] the members' PPO state, exactly as plain PPO has it
    hyperparams: Hyperparams  # f32[S] each
    return_sum: jax.Array  # f32[S] sum of the finite per-update returns since the last exploit
    return_count: jax.Array  # f32[S] how many updates since then measured a return
    fitness: jax.Array  # f32[S] mean return of the last whole interval (NaN: none measured)
    key: jax.Array  # key[] exploit and explore draws (not per member)
