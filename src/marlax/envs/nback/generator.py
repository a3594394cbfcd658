"""Episode generation for the n-back task: the hidden lag, the values, the labels."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sample_episode(
    key: jax.Array, max_n: int, max_value: int, length: int
) -> tuple[jax.Array, jax.Array]:
    """Draw the hidden lag and the value sequence of one episode.

    Args:
        key: PRNG key.
        max_n: the lag n is uniform in [0, max_n).
        max_value: each value is uniform in [0, max_value), independently.
        length: number of values L.

    Returns:
        n: i32[]; values: i32[L].
    """
    n_key, values_key = jax.random.split(key)
    n = jax.random.randint(n_key, (), 0, max_n, dtype=jnp.int32)
    values = jax.random.randint(values_key, (length,), 0, max_value, dtype=jnp.int32)
    return n, values


def match_label(values: jax.Array, n: jax.Array, t: jax.Array) -> jax.Array:
    """Whether the value at step t equals the one n steps earlier (False while t < n).

    Args:
        values: i32[L]; n: i32[] the lag; t: i32[] the step (t < L).

    Returns:
        bool[].
    """
    earlier = values[jnp.maximum(t - n, 0)]
    return (t >= n) & (values[t] == earlier)


def match_labels(values: jax.Array, n: jax.Array) -> jax.Array:
    """`match_label` at every step: bool[L] for values i32[L] and lag n i32[]."""
    steps = jnp.arange(values.shape[0], dtype=jnp.int32)
    return jax.vmap(match_label, in_axes=(None, None, 0))(values, n, steps)
