"""DifferentiableAssignment module: API, marginals, size-free parameters, masks, equivariance."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from marlax.coordination import DifferentiableAssignment
from marlax.errors import ConfigError

MODULE = DifferentiableAssignment(embedding_dim=8, temperature=0.5, num_iterations=30)


@pytest.fixture
def problem(key):
    agent_key, task_key, init_key = jax.random.split(key, 3)
    agents = jax.random.normal(agent_key, (2, 6, 4))
    tasks = jax.random.normal(task_key, (2, 3, 4))
    return MODULE.init(init_key, agents, tasks), agents, tasks


def _apply(params, agents, tasks, *masks):
    return jax.jit(MODULE.apply)(params, agents, tasks, *masks)


def test_plan_marginals_and_metrics(problem):
    params, agents, tasks = problem
    plan, metrics = _apply(params, agents, tasks)
    assert plan.shape == (2, 6, 3)
    np.testing.assert_allclose(plan.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(plan.sum(1), 2.0, atol=1e-3)
    assert float(metrics["marginal_error"]) < 1e-3
    assert int(metrics["iterations"]) == 30
    assert 0.0 <= float(metrics["entropy"]) <= np.log(3) + 1e-5
    assert 0.0 <= float(metrics["sparsity"]) <= 1.0


def test_parameters_do_not_fix_team_or_task_count(problem, key):
    params, _, _ = problem
    agents = jax.random.normal(key, (1, 9, 4))
    tasks = jax.random.normal(key, (1, 5, 4))
    plan, _ = _apply(params, agents, tasks)
    assert plan.shape == (1, 9, 5)
    np.testing.assert_allclose(plan.sum(1), 9 / 5, atol=1e-3)


def test_masked_agent_changes_nothing(problem):
    params, agents, tasks = problem
    mask = jnp.ones((2, 6), bool).at[:, 1].set(False)
    plan, _ = _apply(params, agents.at[:, 1].set(100.0), tasks, mask)
    removed, _ = _apply(params, jnp.delete(agents, 1, axis=1), tasks)
    np.testing.assert_allclose(jnp.delete(plan, 1, axis=1), removed, atol=1e-5)
    np.testing.assert_array_equal(plan[:, 1], 0.0)


def test_permutation_equivariance_over_agents(problem):
    params, agents, tasks = problem
    permutation = jnp.array([5, 2, 0, 4, 1, 3])
    plan, _ = _apply(params, agents, tasks)
    permuted, _ = _apply(params, agents[:, permutation], tasks)
    np.testing.assert_allclose(permuted, plan[:, permutation], atol=1e-5)


def test_gradients_reach_every_parameter(problem):
    params, agents, tasks = problem

    def loss(params):
        plan, _ = MODULE.apply(params, agents, tasks)
        return jnp.sum(plan * jnp.arange(3.0)[None, None, :])

    grads = jax.jit(jax.grad(loss))(params)
    leaves = jax.tree.leaves(grads)
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves)
    # the per-agent bias cancels under fixed row marginals: every other leaf gets signal
    named = jax.tree_util.tree_flatten_with_path(grads)[0]
    moving = [path for path, leaf in named if float(jnp.abs(leaf).max()) > 0]
    assert any("utility_weights" in str(path) for path in moving)
    assert any("task_bias" in str(path) for path in moving)


def test_default_gradient_is_exact_with_few_iterations(problem):
    # 5 iterations at temperature 0.1 leave the plan unconverged: the default gradient
    # must be the exact gradient of the returned plan (the unrolled one), not the
    # fixed-point one
    params, agents, tasks = problem
    settings = {"embedding_dim": 8, "temperature": 0.1, "num_iterations": 5}

    def gradients(differentiation):
        module = DifferentiableAssignment(differentiation=differentiation, **settings)

        def loss(params):
            plan, metrics = module.apply(params, agents, tasks)
            return jnp.sum(plan * jnp.arange(3.0)[None, None, :]), metrics["marginal_error"]

        return jax.jit(jax.grad(loss, has_aux=True))(params)

    default, error = gradients("auto")
    unrolled, _ = gradients("unroll")
    implicit, _ = gradients("implicit")
    assert float(error) > 1e-3
    default, unrolled, implicit = (ravel_pytree(g)[0] for g in (default, unrolled, implicit))
    scale = float(jnp.max(jnp.abs(unrolled)))
    np.testing.assert_allclose(default, unrolled, atol=1e-4 * scale)
    assert float(jnp.max(jnp.abs(implicit - unrolled))) > 1e-2 * scale


@pytest.mark.parametrize(
    "settings",
    [
        {"temperature": 0.0},
        {"num_iterations": 0},
        {"differentiation": "backprop"},
        {"threshold": -1.0},
        {"temperature_decay": 1.0},
        {"embedding_dim": 0},
    ],
)
def test_bad_settings_raise_config_error(settings):
    with pytest.raises(ConfigError):
        DifferentiableAssignment(**settings)
