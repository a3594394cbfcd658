"""Masked categorical and diagonal Gaussian distributions, and the policy/value head."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from marlax.errors import ConfigError
from marlax.models import Categorical, DiagGaussian, GaussianParams, distribution, mask_logits
from marlax.models.heads import MASKED_LOGIT, PolicyValueHead


def test_masked_categorical_matches_hand_computed_values() -> None:
    # legal actions 0 and 1 with probabilities 1/3 and 2/3; action 2 is illegal
    logits = jnp.array([0.0, np.log(2.0), 5.0])
    dist = distribution(logits, jnp.array([True, True, False]))
    np.testing.assert_allclose(jnp.exp(dist.log_probs), [1 / 3, 2 / 3, 0.0], atol=1e-7)
    np.testing.assert_allclose(dist.log_prob(jnp.array(1)), np.log(2 / 3), rtol=1e-6)
    np.testing.assert_allclose(dist.log_prob(jnp.array(0)), np.log(1 / 3), rtol=1e-6)
    expected_entropy = -(1 / 3 * np.log(1 / 3) + 2 / 3 * np.log(2 / 3))
    np.testing.assert_allclose(dist.entropy(), expected_entropy, rtol=1e-6)
    assert int(dist.mode()) == 1
    legal = jnp.array([True, True, False])
    entropy_grad = jax.grad(lambda z: distribution(z, legal).entropy())(logits)
    assert np.isfinite(entropy_grad).all() and entropy_grad[2] == 0.0


def test_masked_sampling_never_picks_illegal_actions(key: jax.Array) -> None:
    # the illegal actions carry the largest logits
    logits = jnp.tile(jnp.array([0.0, 10.0, 0.0, 10.0, 0.5]), (4000, 1))
    legal = jnp.tile(jnp.array([True, False, True, False, True]), (4000, 1))
    actions = distribution(logits, legal).sample(key)
    chex.assert_shape(actions, (4000,))
    assert set(np.unique(actions)) <= {0, 2, 4}
    frequencies = np.bincount(np.asarray(actions), minlength=5) / 4000
    expected = np.exp([0.0, 0, 0.0, 0, 0.5]) * [1, 0, 1, 0, 1]
    np.testing.assert_allclose(frequencies, expected / expected.sum(), atol=0.03)


def test_mask_logits_and_all_illegal_row() -> None:
    masked = mask_logits(jnp.array([[1.0, 2.0], [3.0, 4.0]]), jnp.array([[True, False]] * 2))
    np.testing.assert_array_equal(masked, [[1.0, MASKED_LOGIT], [3.0, MASKED_LOGIT]])
    # no legal action: uniform, finite entropy log(2)
    dist = distribution(jnp.array([1.0, 2.0]), jnp.array([False, False]))
    np.testing.assert_allclose(dist.entropy(), np.log(2.0), rtol=1e-6)


def test_sampling_is_deterministic_under_a_fixed_key(key: jax.Array) -> None:
    logits = jax.random.normal(key, (16, 5))
    categorical = Categorical(logits)
    np.testing.assert_array_equal(categorical.sample(key), categorical.sample(key))
    gaussian = DiagGaussian(logits, jnp.zeros_like(logits))
    np.testing.assert_array_equal(gaussian.sample(key), gaussian.sample(key))
    assert not np.array_equal(gaussian.sample(key), gaussian.sample(jax.random.key(1)))


def test_gaussian_log_prob_and_entropy_match_scipy(key: jax.Array) -> None:
    mean = jnp.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]])
    log_std = jnp.array([[0.0, -0.5, 0.7], [0.2, 0.2, 0.2]])
    action = jnp.array([[0.1, -0.3, 4.0], [1.0, -2.0, 0.5]])
    dist = distribution(GaussianParams(mean, log_std))
    std = np.exp(np.asarray(log_std))
    expected = stats.norm.logpdf(np.asarray(action), np.asarray(mean), std).sum(-1)
    np.testing.assert_allclose(dist.log_prob(action), expected, rtol=1e-5)
    np.testing.assert_allclose(dist.entropy(), stats.norm.entropy(scale=std).sum(-1), rtol=1e-5)
    many = (20000, 3)
    samples = DiagGaussian(jnp.broadcast_to(mean[0], many), jnp.broadcast_to(log_std[0], many))
    samples = samples.sample(key)
    np.testing.assert_allclose(samples.mean(0), mean[0], atol=0.05)
    np.testing.assert_allclose(samples.std(0), std[0], rtol=0.03)


def test_masks_apply_to_discrete_actions_only() -> None:
    with pytest.raises(ValueError, match="discrete"):
        distribution(GaussianParams(jnp.zeros(2), jnp.zeros(2)), jnp.array([True, True]))


def test_heads_shapes_and_initial_policy(key: jax.Array) -> None:
    hidden = jax.random.normal(key, (2, 3, 8))
    discrete = PolicyValueHead(num_actions=4)
    logits, value = discrete.apply(discrete.init(key, hidden), hidden)
    chex.assert_shape((logits, value), ((2, 3, 4), (2, 3)))
    assert np.abs(logits).max() < 0.2  # gain 0.01: close to uniform at init
    continuous = PolicyValueHead(num_actions=2, continuous=True, log_std_init=-0.5)
    params = continuous.init(key, hidden)
    (mean, log_std), value = continuous.apply(params, hidden)
    chex.assert_shape((mean, log_std, value), ((2, 3, 2), (2, 3, 2), (2, 3)))
    np.testing.assert_allclose(log_std, -0.5)
    chex.assert_shape(params["params"]["log_std"], (2,))


@pytest.mark.parametrize("scale", [0.01, 1.0])
def test_policy_layer_is_orthogonal_with_the_given_gain(scale):
    head = PolicyValueHead(num_actions=5, policy_init_scale=scale)
    params = head.init(jax.random.key(0), jnp.zeros((1, 16)))
    kernel = params["params"]["policy"]["kernel"]  # [16, 5]: orthonormal columns times gain
    np.testing.assert_allclose(np.asarray(kernel.T @ kernel), scale**2 * np.eye(5), atol=1e-6)


def test_policy_init_scale_must_be_positive():
    with pytest.raises(ConfigError, match="policy_init_scale"):
        PolicyValueHead(num_actions=5, policy_init_scale=0.0)
