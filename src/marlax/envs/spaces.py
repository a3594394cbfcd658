"""Per-agent observation and action spaces.

A space describes what ONE agent sees or does; env outputs stack agents on
axis 0, so `obs[i]` lies in `env.observation_space` for every agent `i`.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np


@dataclass(frozen=True)
class Discrete:
    """Integers `0 .. n-1`.

    Attributes:
        n: number of values.
    """

    n: int
    dtype: str = "int32"

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        """Uniform values: i32[*shape]."""
        return jax.random.randint(key, shape, 0, self.n, dtype=self.dtype)

    def contains(self, value: jax.Array | np.ndarray) -> bool:
        """Whether `value` (a scalar, or a batch of scalars) lies in the space."""
        value = np.asarray(value)
        return bool(
            np.issubdtype(value.dtype, np.integer) and np.all((value >= 0) & (value < self.n))
        )


@dataclass(frozen=True)
class Box:
    """A box `low <= x <= high` of fixed shape, float or integer.

    Attributes:
        low: lower bound (a scalar for every element).
        high: upper bound (a scalar for every element).
        shape: shape of one agent's value.
        dtype: numpy dtype name, e.g. "float32" or "int32".
    """

    low: float
    high: float
    shape: tuple[int, ...]
    dtype: str = "float32"

    def sample(self, key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
        """Uniform values in the box (bounds clipped to +-1e6): dtype[*shape, *self.shape]."""
        full_shape = (*shape, *self.shape)
        low = max(self.low, -1e6)
        high = min(self.high, 1e6)
        if np.issubdtype(np.dtype(self.dtype), np.integer):
            return jax.random.randint(key, full_shape, int(low), int(high) + 1, dtype=self.dtype)
        return jax.random.uniform(key, full_shape, minval=low, maxval=high).astype(self.dtype)

    def contains(self, value: jax.Array | np.ndarray) -> bool:
        """Whether `value` (shape `[..., *self.shape]`) lies in the box."""
        value = np.asarray(value)
        if value.shape[value.ndim - len(self.shape) :] != self.shape:
            return False
        same_kind = np.issubdtype(value.dtype, np.integer) == np.issubdtype(
            np.dtype(self.dtype), np.integer
        )
        return bool(same_kind and np.all((value >= self.low) & (value <= self.high)))


Space = Discrete | Box


def num_actions(space: Space) -> int:
    """Number of discrete actions, or the action dimension of a continuous space."""
    if isinstance(space, Discrete):
        return space.n
    return int(np.prod(space.shape))


def zeros_like_space(space: Space, leading: tuple[int, ...] = ()) -> jax.Array:
    """A zero value of the space with `leading` batch axes."""
    return jnp.zeros((*leading, *space.shape), dtype=space.dtype)
