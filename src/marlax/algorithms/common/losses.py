"""PPO loss terms, each a masked mean so padded agents (multi-task) count for nothing.

Schulman et al. 2017, "Proximal Policy Optimization Algorithms", eq. (7) (clipped surrogate)
and eq. (9) (value and entropy terms); value clipping as in OpenAI baselines `ppo2`. The
histogram (HL-Gauss) value loss is `hl_gauss.cross_entropy`, built on `masked_mean`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def masked_mean(values: jax.Array, weight: jax.Array) -> jax.Array:
    """sum(w * v) / max(sum(w), 1) over all elements. values, weight: f32[...] same shape."""
    return jnp.sum(values * weight) / jnp.maximum(jnp.sum(weight), 1.0)


def normalize(advantages: jax.Array, weight: jax.Array) -> jax.Array:
    """(A - mean) / (std + 1e-8) with mean and std over weighted elements. f32[...] -> f32[...]."""
    mean = masked_mean(advantages, weight)
    variance = masked_mean(jnp.square(advantages - mean), weight)
    return (advantages - mean) / (jnp.sqrt(variance) + 1e-8)


def clipped_surrogate(
    log_prob: jax.Array,
    old_log_prob: jax.Array,
    advantages: jax.Array,
    weight: jax.Array,
    clip_eps: float,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The policy loss -E[min(rho A, clip(rho, 1-eps, 1+eps) A)].

    Args:
        log_prob, old_log_prob, advantages, weight: f32[...] of one shape.

    Returns:
        (loss f32[], approx_kl f32[] = E[(rho - 1) - log rho], clip_fraction f32[]).
    """
    log_ratio = log_prob - old_log_prob
    ratio = jnp.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -masked_mean(jnp.minimum(unclipped, clipped), weight)
    approx_kl = masked_mean((ratio - 1.0) - log_ratio, weight)
    clip_fraction = masked_mean((jnp.abs(ratio - 1.0) > clip_eps).astype(jnp.float32), weight)
    return loss, approx_kl, clip_fraction


def value_loss(
    value: jax.Array,
    old_value: jax.Array,
    targets: jax.Array,
    weight: jax.Array,
    clip_eps: float | None,
) -> jax.Array:
    """0.5 * E[(V - target)^2], or with clipping the larger of the clipped and unclipped errors.

    Args:
        value, old_value, targets, weight: f32[...] of one shape.
        clip_eps: the value clip range, or None for the plain squared error.

    Returns:
        f32[].
    """
    error = jnp.square(value - targets)
    if clip_eps is not None:
        clipped_value = old_value + jnp.clip(value - old_value, -clip_eps, clip_eps)
        error = jnp.maximum(error, jnp.square(clipped_value - targets))
    return 0.5 * masked_mean(error, weight)
