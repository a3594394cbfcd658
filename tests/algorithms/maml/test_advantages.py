"""Returns-to-go, the linear feature baseline and advantage standardisation, by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.maml.advantages import (
    RIDGE,
    baseline_features,
    fit_linear_baseline,
    returns_to_go,
    standardize,
    task_advantages,
)
from marlax.algorithms.maml.rollout import Trajectories


def test_returns_to_go_by_hand():
    reward = jnp.asarray([1.0, 2.0, 3.0])
    every = returns_to_go(reward, jnp.asarray([True, True, True]), 0.5)
    np.testing.assert_allclose(every, [1 + 0.5 * 2 + 0.25 * 3, 2 + 0.5 * 3, 3.0])
    # the episode ends after step 1: step 2's reward does not exist for it
    ended = returns_to_go(reward, jnp.asarray([True, True, False]), 0.5)
    np.testing.assert_allclose(ended, [1 + 0.5 * 2, 2.0, 0.0])


def test_baseline_features_are_rllabs():
    obs = jnp.asarray([[[-20.0]], [[0.5]], [[2.0]]])  # [T=3, K=1, D=1]
    features = baseline_features(obs)[:, 0]
    expected = [
        [-10.0, 100.0, 0.0, 0.0, 0.0, 1.0],  # obs clipped to [-10, 10] first
        [0.5, 0.25, 0.01, 1e-4, 1e-6, 1.0],
        [2.0, 4.0, 0.02, 4e-4, 8e-6, 1.0],
    ]
    np.testing.assert_allclose(features, expected, rtol=1e-6)


def test_ridge_fit_equals_numpy_lstsq_on_the_valid_rows():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 6))
    returns = features @ rng.normal(size=6) + 0.1 * rng.normal(size=40)
    valid = rng.random(40) < 0.7
    returns_with_junk = np.where(valid, returns, 1e3)  # invalid rows must not count
    weights = fit_linear_baseline(
        jnp.asarray(features, jnp.float32),
        jnp.asarray(returns_with_junk, jnp.float32),
        jnp.asarray(valid),
    )
    # ridge as least squares on the augmented system [F; sqrt(r) I] w = [G; 0]
    augmented = np.concatenate([features[valid], np.sqrt(RIDGE) * np.eye(6)])
    target = np.concatenate([returns[valid], np.zeros(6)])
    expected = np.linalg.lstsq(augmented, target, rcond=None)[0]
    np.testing.assert_allclose(weights, expected, rtol=1e-4, atol=1e-5)


def test_standardize_over_valid_entries_only():
    values = jnp.asarray([1.0, 2.0, 3.0, 100.0])
    valid = jnp.asarray([True, True, True, False])
    result = standardize(values, valid)
    np.testing.assert_allclose(result[:3], np.asarray([-1, 0, 1]) / np.sqrt(2 / 3), rtol=1e-5)
    assert result[3] == 0.0


def _trajectories(rewards: jax.Array, valid: jax.Array) -> Trajectories:
    obs = jnp.zeros((*rewards.shape, 2))
    return Trajectories(obs, jnp.zeros((*rewards.shape, 2)), rewards, valid, None)


def test_advantages_without_baseline_are_the_returns_to_go():
    rewards = jnp.arange(12.0).reshape(3, 2, 2)  # [T=3, K=2, N=2]
    valid = jnp.asarray([[True, True], [True, False], [True, False]])
    advantages = task_advantages(_trajectories(rewards, valid), 0.9, "none", normalize=False)
    expected = returns_to_go(rewards, jnp.broadcast_to(valid[..., None], rewards.shape), 0.9)
    np.testing.assert_allclose(advantages, expected)
    assert advantages[1, 1].tolist() == [0.0, 0.0]


def test_a_linear_baseline_removes_what_time_explains():
    # returns that are an exact cubic in t/100: the fitted baseline leaves nothing
    rewards = jnp.zeros((5, 3, 1)).at[-1].set(1.0)
    valid = jnp.ones((5, 3), bool)
    advantages = task_advantages(_trajectories(rewards, valid), 1.0, "linear", normalize=False)
    np.testing.assert_allclose(advantages, 0.0, atol=1e-4)
