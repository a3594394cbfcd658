"""Agent and task masks shared by the coordination operators."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def default_mask(states: jax.Array, mask: jax.Array | None) -> jax.Array:
    """bool[B, K]: the given mask, or all True for states f32[B, K, D]."""
    if mask is None:
        return jnp.ones(states.shape[:2], dtype=bool)
    return mask.astype(bool)
