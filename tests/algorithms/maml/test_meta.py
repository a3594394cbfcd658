"""The inner step by hand, the meta-gradient against finite differences, first order, and
inner_steps = 0 as plain policy gradient (a linear Gaussian policy, episodes held fixed)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.maml.meta import (
    adapt,
    collect,
    inner_update,
    meta_loss,
    stage_returns,
    surrogate_loss,
)
from tests.algorithms.maml.helpers import linear_inner, linear_params

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("algorithms.maml.test_meta")

TASK = jnp.asarray([0.3, -0.2])


@pytest.fixture(scope="module")
def fixed():
    """theta and one task's sampled episodes (two inner batches and the outer batch)."""
    theta = linear_params(jax.random.key(1))
    batch = collect(jax.random.key(2), theta, TASK, linear_inner(inner_steps=2))
    return theta, batch


def _hand_surrogate_gradient(theta, batch):
    """d/dw and d/dlog_std of -mean(log N(a; obs w, sigma) A) written out."""
    weights = np.asarray(theta["params"]["w"], np.float64)
    log_std = np.asarray(theta["params"]["log_std"], np.float64)
    trajectories = batch.trajectories
    obs = np.asarray(trajectories.obs, np.float64).reshape(-1, 2)
    actions = np.asarray(trajectories.actions, np.float64).reshape(-1, 2)
    advantages = np.asarray(batch.advantages, np.float64).reshape(-1)
    valid = np.broadcast_to(np.asarray(trajectories.valid)[..., None], batch.advantages.shape)
    weight = valid.reshape(-1) * advantages / valid.sum()
    residual = (actions - obs @ weights) / np.exp(2 * log_std)
    grad_w = -(obs * weight[:, None]).T @ residual
    standardised = (actions - obs @ weights) ** 2 / np.exp(2 * log_std)
    grad_log_std = -(weight[:, None] * (standardised - 1.0)).sum(axis=0)
    return grad_w, grad_log_std


def test_inner_update_is_one_sgd_step_on_the_hand_written_surrogate(fixed):
    theta, batch = fixed
    inner = linear_inner()
    grad_w, grad_log_std = _hand_surrogate_gradient(theta, batch.inner[0])
    updated = inner_update(theta, batch.inner[0], inner)["params"]
    np.testing.assert_allclose(
        updated["w"], np.asarray(theta["params"]["w"]) - 0.3 * grad_w, rtol=1e-4, atol=1e-6
    )
    np.testing.assert_allclose(
        updated["log_std"],
        np.asarray(theta["params"]["log_std"]) - 0.3 * grad_log_std,
        rtol=1e-4,
        atol=1e-6,
    )


def _directional_fd(function, theta, direction, epsilon=1e-2):
    plus = jax.tree.map(lambda p, d: p + epsilon * d, theta, direction)
    minus = jax.tree.map(lambda p, d: p - epsilon * d, theta, direction)
    return (float(function(plus)) - float(function(minus))) / (2 * epsilon)


@pytest.mark.parametrize("seed", [0, 1])
def test_second_order_meta_gradient_equals_finite_differences(fixed, seed):
    theta, batch = fixed
    inner = linear_inner(inner_steps=2)
    grads = jax.grad(meta_loss)(theta, batch, inner)
    leaves, tree = jax.tree.flatten(theta)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    direction = tree.unflatten(
        [jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]
    )
    analytic = sum(
        float(jnp.sum(g * d))
        for g, d in zip(jax.tree.leaves(grads), jax.tree.leaves(direction), strict=True)
    )
    numeric = _directional_fd(lambda t: meta_loss(t, batch, inner), theta, direction)
    assert abs(analytic - numeric) <= 1e-3 * abs(numeric)


def test_first_order_is_the_outer_gradient_at_the_adapted_parameters(fixed):
    theta, batch = fixed
    second = jax.grad(meta_loss)(theta, batch, linear_inner(inner_steps=2))
    first_inner = linear_inner(inner_steps=2, first_order=True)
    first = jax.grad(meta_loss)(theta, batch, first_inner)
    adapted = adapt(theta, batch.inner, first_inner)
    at_adapted = jax.grad(surrogate_loss)(adapted, batch.outer, first_inner.sampler)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(at_adapted), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    difference = max(
        float(jnp.max(jnp.abs(a - b)))
        for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second), strict=True)
    )
    assert difference > 1e-3  # the Hessian terms matter here


def test_zero_inner_steps_is_plain_policy_gradient(fixed):
    theta, _ = fixed
    inner = linear_inner(inner_steps=0)
    batch = collect(jax.random.key(3), theta, TASK, inner)
    assert batch.inner == ()
    loss, grads = jax.value_and_grad(meta_loss)(theta, batch, inner)
    plain_loss, plain = jax.value_and_grad(surrogate_loss)(theta, batch.outer, inner.sampler)
    assert float(loss) == float(plain_loss)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(plain), strict=True):
        np.testing.assert_array_equal(a, b)


def test_collect_samples_each_stage_with_the_parameters_it_adapted_to(fixed):
    theta, batch = fixed
    inner = linear_inner(inner_steps=2)
    # the outer episodes are those of phi_2: resampling them with adapt(...) reproduces them
    phi_2 = adapt(theta, batch.inner, inner)
    again = collect(jax.random.key(2), theta, TASK, inner)
    np.testing.assert_array_equal(
        again.outer.trajectories.actions, batch.outer.trajectories.actions
    )
    assert jax.tree.leaves(phi_2)[0].shape == jax.tree.leaves(theta)[0].shape
    returns = stage_returns(batch)
    assert returns.shape == (3,) and bool(jnp.all(returns < 0))  # rewards are -distances
