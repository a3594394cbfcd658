"""Rotary position embeddings and masked grouped-query attention, for any leading batch axes.

Both compute in the dtype of their inputs (bf16 under a bf16 model); the RoPE angles and the
softmax are f32, the tables cast to the inputs' dtype before they meet them.
"""

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
        f32[*batch, S, heads, head_dim], in x's dtype.
    """
    half = x.shape[-1] // 2
    inv_freq = base ** (-jnp.arange(half, dtype=jnp.float32) / half)  # f32[half]
    angles = positions.astype(jnp.float32)[:, None] * inv_freq[None, :]  # f32[S, half]
    # tables in x's dtype: f32 tables would promote a bf16 x (and every later op) to f32
    cos = lead_axes(jnp.cos(angles)[:, None, :], x.ndim - 3).astype(x.dtype)  # [1.., S, 1, half]
    sin = lead_axes(jnp.sin(angles)[:, None, :], x.ndim - 3).astype(x.dtype)
    first, second = x[..., :half], x[..., half:]
    return jnp.concatenate([first * cos - second * sin, first * sin + second * cos], axis=-1)


def attend(
    query: jax.Array,
    key: jax.Array,
    value: jax.Array,
    mask: jax.Array,
) -> jax.Array:
    """Scaled dot-product attention with a boolean mask, grouped over key/value heads.

    Query head h reads key/value head h // (heads / kv_heads) (Ainslie et al. 2023, GQA), the
    same as repeating each K/V head heads / kv_heads times, but without building the repeats:
    the queries are viewed as [kv_heads, group] instead. kv_heads = heads is plain multi-head
    attention. The logits are softmaxed in f32 whatever the inputs' dtype.

    Args:
        query: f32[*batch, Q, heads, head_dim] (already rotated).
        key: f32[*batch, S, kv_heads, head_dim] (already rotated); kv_heads divides heads.
        value: f32[*batch, S, kv_heads, head_dim].
        mask: bool[*batch, Q, S], True where query q may see key s; every row needs one True.

    Returns:
        f32[*batch, Q, heads * head_dim], in the value's dtype.
    """
    heads, head_dim = query.shape[-2:]
    kv_heads = key.shape[-2]
    grouped = query.reshape((*query.shape[:-2], kv_heads, heads // kv_heads, head_dim))
    # a Python float scale: a strongly typed f32 scalar would promote bf16 logits
    logits = jnp.einsum("...qkgd,...skd->...kgqs", grouped, key) * head_dim**-0.5
    logits = jnp.where(mask[..., None, None, :, :], logits.astype(jnp.float32), MASKED_LOGIT)
    weights = jax.nn.softmax(logits, axis=-1).astype(value.dtype)
    out = jnp.einsum("...kgqs,...skd->...qkgd", weights, value)
    return out.reshape((*out.shape[:-3], heads * head_dim))
