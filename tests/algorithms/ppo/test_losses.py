"""PPO loss terms against hand-computed values; masks make padded agents count for nothing."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from marlax.algorithms.common.losses import clipped_surrogate, masked_mean, normalize, value_loss


def test_clipped_surrogate_by_hand():
    # ratios e^0.5 = 1.6487 (clipped to 1.2 for A > 0), e^-0.5 = 0.6065 (clipped to 0.8 for A < 0)
    log_prob = jnp.array([0.5, -0.5, 0.0])
    old = jnp.zeros(3)
    advantages = jnp.array([1.0, -1.0, 2.0])
    weight = jnp.ones(3)
    loss, approx_kl, clip_fraction = clipped_surrogate(log_prob, old, advantages, weight, 0.2)
    # min(1.6487, 1.2) * 1 = 1.2; min(-0.6065, -0.8) = -0.8; 1 * 2 = 2 -> mean 0.8, loss -0.8
    np.testing.assert_allclose(loss, -(1.2 - 0.8 + 2.0) / 3, rtol=1e-6)
    kl = [(math.exp(0.5) - 1) - 0.5, (math.exp(-0.5) - 1) + 0.5, 0.0]
    np.testing.assert_allclose(approx_kl, sum(kl) / 3, rtol=1e-5)
    np.testing.assert_allclose(clip_fraction, 2 / 3, rtol=1e-6)


def test_weight_zero_elements_are_ignored():
    log_prob = jnp.array([0.1, 5.0])
    advantages = jnp.array([1.0, 100.0])
    masked = clipped_surrogate(log_prob, jnp.zeros(2), advantages, jnp.array([1.0, 0.0]), 0.2)
    alone = clipped_surrogate(log_prob[:1], jnp.zeros(1), advantages[:1], jnp.ones(1), 0.2)
    np.testing.assert_allclose(masked, alone, rtol=1e-6)


def test_value_loss_clipping_by_hand():
    value = jnp.array([2.0, 0.0])
    old = jnp.array([0.0, 0.0])
    targets = jnp.array([1.0, 1.0])
    weight = jnp.ones(2)
    # unclipped errors (1, 1); clipped value 0.5 -> error 0.25, so max keeps 1 for the first;
    # second: value 0 inside the clip range -> 1.  0.5 * mean(1, 1) = 0.5
    np.testing.assert_allclose(value_loss(value, old, targets, weight, 0.5), 0.5)
    # a value that moved toward the target beyond the range is clipped back:
    # value 3, old 0, target 3: unclipped 0, clipped 0.5 -> (0.5 - 3)^2 = 6.25 -> 3.125
    np.testing.assert_allclose(
        value_loss(jnp.array([3.0]), jnp.array([0.0]), jnp.array([3.0]), jnp.ones(1), 0.5), 3.125
    )
    np.testing.assert_allclose(
        value_loss(jnp.array([3.0]), jnp.array([0.0]), jnp.array([3.0]), jnp.ones(1), None), 0.0
    )


def test_normalize_uses_weighted_statistics():
    advantages = jnp.array([1.0, 3.0, 1000.0])
    weight = jnp.array([1.0, 1.0, 0.0])
    normalized = normalize(advantages, weight)
    np.testing.assert_allclose(normalized[:2], [-1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(masked_mean(jnp.array([2.0, 4.0]), jnp.zeros(2)), 0.0)
