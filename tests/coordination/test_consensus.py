"""RobustConsensus: mean limit, outlier rejection, no underflow collapse, masks, gradients."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from marlax.coordination import RobustConsensus
from marlax.coordination.consensus import weiszfeld
from marlax.errors import ConfigError


@functools.cache
def _jitted(settings):
    return jax.jit(RobustConsensus(**dict(settings)).apply)


def _consensus(responses, mask=None, **settings):
    """One compiled program per (settings, shapes): tests share shapes to share compiles."""
    return _jitted(tuple(sorted(settings.items())))({}, responses, mask)


def _cluster_outliers(key, num_agents=20, dim=16, fraction=0.4, distance=10.0):
    inlier_key, outlier_key = jax.random.split(key)
    mu = jnp.full(dim, 2.0)
    responses = mu[None, None, :] + jax.random.normal(inlier_key, (2, num_agents, dim))
    # ||far - mu|| = distance sqrt(D): `distance` inlier radii (sigma_in sqrt(D)) away
    far = mu + distance * jnp.ones(dim)
    outliers = far[None, None, :] + jax.random.normal(outlier_key, (2, num_agents, dim))
    is_outlier = jnp.arange(num_agents) < int(fraction * num_agents)
    return jnp.where(is_outlier[None, :, None], outliers, responses), mu


def test_equals_mean_without_outliers_and_large_sigma(key):
    responses = jax.random.normal(key, (2, 20, 16)) + 3.0
    centroid, metrics = _consensus(responses, sigma=1e4)
    np.testing.assert_allclose(centroid[:, 0], responses.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(metrics["effective_agents"], 20.0, rtol=1e-5)


def test_rejects_forty_percent_coordinated_outliers(key):
    responses, _ = _cluster_outliers(key)
    inlier_mean = responses[:, 8:].mean(axis=1)  # the best the 12 inliers allow
    welsch, metrics = _consensus(responses)
    mean, _ = _consensus(responses, method="mean")
    assert float(jnp.max(jnp.linalg.norm(welsch[:, 0] - inlier_mean, axis=-1))) < 0.3
    assert float(jnp.min(jnp.linalg.norm(mean[:, 0] - inlier_mean, axis=-1))) > 10.0
    np.testing.assert_allclose(metrics["outlier_ratio"], 0.4, atol=0.02)
    # outliers carry (numerically) no weight
    assert float(jnp.max(metrics["weights"][:, :8])) < 1e-6


@pytest.mark.parametrize("distance", [3.0, 5.0])
def test_rejects_a_near_outlier_cluster(key, distance):
    # 45% of the agents 3-5 inlier radii away: the default rejects them, the geometric
    # median (breakdown 50% in theory) is pulled off by the coordinated cluster
    responses, mu = _cluster_outliers(key, num_agents=100, dim=64, fraction=0.45, distance=distance)
    inlier_mean = responses[:, 45:].mean(axis=1)
    radius = 0.25 * np.sqrt(64)
    welsch, _ = _consensus(responses)
    median, _ = _consensus(responses, method="geometric_median")
    assert float(jnp.max(jnp.linalg.norm(welsch[:, 0] - inlier_mean, axis=-1))) < 0.1 * radius
    assert float(jnp.min(jnp.linalg.norm(median[:, 0] - mu[None, :], axis=-1))) > radius


def test_old_default_sigma_fails_at_three_radii(key):
    # the reason for sigma=0.5: with sigma=1 a 40% cluster 3 inlier radii away keeps weight
    # ~exp(-4.5) per agent and drags the centroid out of the success radius
    responses, mu = _cluster_outliers(key, num_agents=100, dim=64, fraction=0.45, distance=3.0)
    wide, _ = _consensus(responses, sigma=1.0)
    radius = 0.25 * np.sqrt(64)
    assert float(jnp.min(jnp.linalg.norm(wide[:, 0] - mu[None, :], axis=-1))) > radius


def test_no_underflow_collapse_far_from_origin(key):
    # reference: raw exp(-d^2 / 2) underflows at D=64, its centroid collapses towards 0
    # (a collapse would put it ~400 from the data); the default relative sigma stays accurate
    responses = 50.0 + jax.random.normal(key, (1, 100, 64))
    centroid, metrics = _consensus(responses, bandwidth=1.0)  # the reference's absolute sigma
    np.testing.assert_allclose(metrics["weights"].sum(axis=1), 1.0, rtol=1e-5)
    assert 1.0 <= float(metrics["effective_agents"]) <= 100.0
    assert float(jnp.linalg.norm(centroid[0, 0] - 50.0)) < 10.0
    centroid, metrics = _consensus(responses)
    assert float(jnp.linalg.norm(centroid[0, 0] - 50.0)) < 0.25 * 8.0
    assert float(metrics["effective_agents"]) > 50.0


def test_geometric_median_is_first_order_optimal(key):
    responses = jax.random.normal(key, (1, 30, 4)) * jnp.array([[[1.0, 2.0, 0.5, 3.0]]])
    centroid, _ = _consensus(responses, method="geometric_median", max_iters=200)
    directions = responses[0] - centroid[0, 0][None, :]
    unit = directions / jnp.linalg.norm(directions, axis=-1, keepdims=True)
    assert float(jnp.linalg.norm(unit.sum(axis=0))) < 1e-2


@pytest.mark.parametrize("method", ["welsch", "geometric_median", "mean"])
def test_masked_agent_changes_nothing(key, method):
    responses = jax.random.normal(key, (2, 20, 16))
    mask = jnp.ones((2, 20), bool).at[:, 4].set(False)
    garbage = responses.at[:, 4].set(1e4)
    masked, metrics = _consensus(garbage, mask, method=method)
    removed, _ = _consensus(jnp.delete(responses, 4, axis=1), method=method)
    np.testing.assert_allclose(masked, removed, atol=1e-5)
    np.testing.assert_array_equal(metrics["weights"][:, 4], 0.0)


def test_permutation_invariance(key):
    responses, _ = _cluster_outliers(key)
    permutation = jax.random.permutation(jax.random.key(3), 20)
    centroid, _ = _consensus(responses)
    permuted, _ = _consensus(responses[:, permutation])
    np.testing.assert_allclose(centroid, permuted, atol=1e-5)


def test_jit_matches_no_jit(key):
    responses, _ = _cluster_outliers(key)
    with jax.disable_jit():
        eager, _ = RobustConsensus().apply({}, responses)
    jitted, _ = _consensus(responses)
    np.testing.assert_allclose(jitted, eager, atol=1e-6)


def test_weiszfeld_step_by_hand():
    # points (0,0), (2,0), (0,4) from (1,1): weights 1/sqrt2, 1/sqrt2, 1/sqrt10
    points = jnp.array([[0.0, 0.0], [2.0, 0.0], [0.0, 4.0]])
    step = weiszfeld(points, jnp.ones(3, bool), jnp.array([1.0, 1.0]), 1)
    w = np.array([1 / np.sqrt(2), 1 / np.sqrt(2), 1 / np.sqrt(10)])
    expected = (w[:, None] * np.asarray(points)).sum(0) / w.sum()
    np.testing.assert_allclose(step, expected, rtol=1e-5)


def test_gradient_matches_finite_differences(key):
    with jax.enable_x64(True):
        responses = jax.random.normal(key, (1, 6, 3), dtype=jnp.float64)
        target = jnp.array([0.3, -0.2, 0.5], dtype=jnp.float64)

        def loss(responses):
            centroid, _ = _consensus(responses, bandwidth=1.5, max_iters=4)
            return jnp.sum((centroid - target[None, None, :]) ** 2)

        check_grads(loss, (responses,), order=1, modes=["rev"], eps=1e-5, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "settings", [{"sigma": 0.0}, {"max_iters": 0}, {"method": "median"}, {"bandwidth": -1.0}]
)
def test_bad_settings_raise_config_error(settings):
    with pytest.raises(ConfigError):
        RobustConsensus(**settings)
