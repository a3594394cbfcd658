"""Rotary position embeddings and masked multi-head attention, for any leading batch axes."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.models.base import lead_axes
from marlax.models.heads import MASKED_LOGIT


def rope(x: jax.Array, positions: jax.Array, base: float) -> jax.Array:
    """Rotary position embedding (Su et al. 2021, RoFormer, eq. 34), half-split layout.

    Rotating queries by their position and keys by theirs makes q.k depend only on the
    distance between them, so any consistent origin of positions gives the same attention.

    Args:
        x: f32[*batch, S, heads, head_dim], head_dim even.
        positions: i32[S].
        base: wavelength base (10000 in the paper).

    Returns:
        f32[*batch, S, heads, head_dim].
    """
    half = x.shape[-1] // 2
    inv_freq = base ** (-jnp.arange(half, dtype=jnp.float32) / half)  # f32[half]
    angles = positions.astype(jnp.float32)[:, None] * inv_freq[None, :]  # f32[S, half]
    cos = lead_axes(jnp.cos(angles)[:, None, :], x.ndim - 3)  # f32[1.., S, 1, half]
    sin = lead_axes(jnp.sin(angles)[:, None, :], x.ndim - 3)
    first, second = x[..., :half], x[..., half:]
    return jnp.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)


def attend(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    mask: jax.Array,
) -> jax.Array:
    """Scaled dot-product attention with a boolean mask.

    Args:
        query: f32[*batch, Q, heads, head_dim] (already rotated).
        key: f32[*batch, S, heads, head_dim] (already rotated).
        value: f32[*batch, S, heads, head_dim].
        mask: bool[*batch, Q, S], True where query q may see key s; every row needs one True.

    Returns:
        f32[*batch, Q, heads * head_dim].
    """
    scale = 1.0 / jnp.sqrt(jnp.float32(query.shape[-1]))
    logits = jnp.einsum("...qhd,...shd->...hqs", query, key) * scale
    logits = jnp.where(mask[..., None, :, :], logits, MASKED_LOGIT)
    weights = jax.nn.softmax(logits, axis=-1)
    out = jnp.einsum("...hqs,...shd->...qhd", weights, value)
    return out.reshape((*out.shape[:-2], -1))
