"""Log-domain Sinkhorn: hand-computed plan, marginals, masks, Hungarian limit, gradients."""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from marlax.coordination import (
    assignment_cost,
    hungarian,
    log_sinkhorn,
    round_assignment,
    uniform_marginals,
)
from marlax.errors import ConfigError


def _solve(utility, agent_mask=None, task_mask=None, capacity=None, **settings):
    num_agents, num_tasks = utility.shape
    agent_mask = jnp.ones(num_agents, bool) if agent_mask is None else agent_mask
    task_mask = jnp.ones(num_tasks, bool) if task_mask is None else task_mask
    log_a, log_b = uniform_marginals(agent_mask, task_mask, capacity)
    settings = {"epsilon": 0.5, "num_iterations": 200, **settings}
    return log_sinkhorn(utility, log_a, log_b, agent_mask, task_mask, **settings)


def test_two_by_two_plan_matches_hand_computation():
    # K = exp(U) = [[e, 1], [1, e]] is already balanced: P = K / (1 + e)
    utility = jnp.array([[1.0, 0.0], [0.0, 1.0]])
    plan = _solve(utility, epsilon=1.0, num_iterations=5).plan
    p = math.e / (1.0 + math.e)
    np.testing.assert_allclose(plan, [[p, 1 - p], [1 - p, p]], atol=1e-6)


@pytest.mark.parametrize("differentiation", ["implicit", "unroll"])
def test_marginals_unbalanced_with_masks(key, differentiation):
    utility = jax.random.normal(key, (7, 3)) * 2.0
    agent_mask = jnp.array([True, True, False, True, True, True, False])
    task_mask = jnp.array([True, True, True])
    result = _solve(utility, agent_mask, task_mask, differentiation=differentiation)
    np.testing.assert_allclose(result.plan.sum(1), agent_mask.astype(float), atol=1e-5)
    np.testing.assert_allclose(result.plan.sum(0), jnp.full(3, 5 / 3), atol=1e-4)
    assert float(result.marginal_error) < 1e-4


def test_user_capacities_are_respected(key):
    utility = jax.random.normal(key, (6, 3))
    capacity = jnp.array([1.0, 2.0, 3.0])
    plan = _solve(utility, capacity=capacity).plan
    np.testing.assert_allclose(plan.sum(0), [1.0, 2.0, 3.0], atol=1e-4)


def test_masked_task_gets_no_mass(key):
    utility = jax.random.normal(key, (4, 3))
    plan = _solve(utility, task_mask=jnp.array([True, False, True])).plan
    np.testing.assert_array_equal(plan[:, 1], 0.0)
    np.testing.assert_allclose(plan.sum(0)[jnp.array([0, 2])], [2.0, 2.0], atol=1e-4)


def test_large_utilities_do_not_overflow():
    # plain exp(U / eps) overflows float32 here (exp(5e4)); the log domain does not
    utility = jnp.array([[500.0, 0.0, 250.0], [0.0, 500.0, 100.0], [100.0, 0.0, 500.0]])
    result = _solve(utility, epsilon=0.01, num_iterations=50)
    assert bool(jnp.all(jnp.isfinite(result.plan)))
    np.testing.assert_allclose(result.plan, jnp.eye(3), atol=1e-5)


def test_zero_temperature_agrees_with_hungarian():
    rng = np.random.default_rng(0)
    for _ in range(3):
        cost = rng.uniform(size=(6, 6)).astype(np.float32)
        result = _solve(
            -jnp.asarray(cost),
            epsilon=1e-3,
            num_iterations=3000,
            threshold=1e-6,
            epsilon_start=1.0,
            epsilon_decay=0.9,
        )
        optimum = hungarian(cost)
        np.testing.assert_array_equal(np.asarray(jnp.argmax(result.plan, axis=1)), optimum)
        rounded = np.asarray(round_assignment(result.plan))
        assert assignment_cost(cost, rounded) == pytest.approx(assignment_cost(cost, optimum))


def test_round_assignment_respects_capacity(key):
    plan = _solve(jax.random.normal(key, (6, 3)), epsilon=1.0).plan
    tasks = np.asarray(round_assignment(plan))
    np.testing.assert_array_equal(np.bincount(tasks, minlength=3), [2, 2, 2])
    masked = np.asarray(round_assignment(plan, jnp.array([True] * 5 + [False])))
    assert masked[5] == -1 and np.all(np.bincount(masked[:5], minlength=3) <= 2)


def test_threshold_stops_early(key):
    utility = jax.random.normal(key, (5, 5))
    result = _solve(utility, epsilon=1.0, num_iterations=500, threshold=1e-4)
    assert 2 <= int(result.iterations) < 500
    assert float(result.marginal_error) < 1e-3
    unrolled = _solve(
        utility, epsilon=1.0, num_iterations=500, threshold=1e-4, differentiation="unroll"
    )
    # both loops stop under the same rule: same count, same plan
    assert int(unrolled.iterations) == int(result.iterations)
    np.testing.assert_allclose(unrolled.plan, result.plan, atol=1e-6)


def test_zero_threshold_stops_only_where_iterating_changes_nothing(key):
    utility = jax.random.normal(key, (5, 5))
    stopped = _solve(utility, epsilon=1.0, num_iterations=300, threshold=0.0)
    every = _solve(utility, epsilon=1.0, num_iterations=300, threshold=-1.0)
    assert int(stopped.iterations) < 300 and int(every.iterations) == 300
    np.testing.assert_allclose(stopped.plan, every.plan, atol=1e-6)


def test_unknown_differentiation_raises():
    with pytest.raises(ConfigError, match="differentiation"):
        _solve(jnp.zeros((2, 2)), differentiation="unrolled")


def test_masked_agent_changes_nothing(key):
    utility = jax.random.normal(key, (5, 3))
    mask = jnp.array([True, True, False, True, True])
    garbage = utility.at[2].set(1e6)
    with_mask = _solve(garbage, agent_mask=mask).plan
    removed = _solve(jnp.delete(utility, 2, axis=0)).plan
    np.testing.assert_allclose(jnp.delete(with_mask, 2, axis=0), removed, atol=1e-6)
    np.testing.assert_array_equal(with_mask[2], 0.0)


def test_permutation_equivariance_over_agents(key):
    utility = jax.random.normal(key, (6, 4))
    permutation = jnp.array([3, 0, 5, 1, 4, 2])
    plan = _solve(utility).plan
    permuted = _solve(utility[permutation]).plan
    np.testing.assert_allclose(permuted, plan[permutation], atol=1e-6)


def test_jit_matches_no_jit(key):
    utility = jax.random.normal(key, (5, 3))
    eager = _solve(utility, num_iterations=20)
    jitted = jax.jit(lambda u: _solve(u, num_iterations=20))(utility)
    np.testing.assert_allclose(jitted.plan, eager.plan, atol=1e-6)
    assert int(jitted.iterations) == int(eager.iterations)


def _plan_loss(utility, **settings):
    weights = jnp.arange(utility.size, dtype=utility.dtype).reshape(utility.shape) / utility.size
    return jnp.sum(_solve(utility, **settings).plan * weights**2)


def _gradients(utility, **settings):
    return _jitted_loss_and_grad(tuple(sorted(settings.items())))[1](utility)


@functools.cache
def _jitted_loss_and_grad(settings: tuple) -> tuple:
    """The plan loss and its gradient under these settings, jitted once (op by op the gradient
    tests took 14-22 s each in CI)."""
    loss = jax.jit(lambda u: _plan_loss(u, **dict(settings)))
    return loss, jax.jit(jax.grad(loss))


def _cosine(left, right):
    return float(jnp.vdot(left, right) / (jnp.linalg.norm(left) * jnp.linalg.norm(right)))


def _check_against_finite_differences(utility, **settings):
    check_grads(
        _jitted_loss_and_grad(tuple(sorted(settings.items())))[0],
        (utility,),
        order=1,
        modes=["rev"],
        eps=1e-4,
        atol=1e-5,
        rtol=1e-5,
    )


def test_unrolled_gradient_matches_finite_differences(key):
    with jax.enable_x64(True):
        utility = jax.random.normal(key, (4, 3), dtype=jnp.float64)
        _check_against_finite_differences(
            utility, epsilon=0.5, num_iterations=15, differentiation="unroll"
        )


def test_default_gradient_is_exact_for_an_unconverged_plan(key):
    # 5 iterations at eps 0.3 leave the plan far from its fixed point (marginal error ~0.3):
    # the fixed-point rule is then a different vector, the default must not use it
    with jax.enable_x64(True):
        utility = 2.0 * jax.random.normal(key, (6, 4), dtype=jnp.float64)
        settings = {"epsilon": 0.3, "num_iterations": 5}
        assert float(_solve(utility, **settings).marginal_error) > 0.1
        _check_against_finite_differences(utility, **settings)
        default = _gradients(utility, **settings)
        unrolled = _gradients(utility, differentiation="unroll", **settings)
        implicit = _gradients(utility, differentiation="implicit", **settings)
        np.testing.assert_allclose(default, unrolled, atol=1e-12)
        assert _cosine(implicit, unrolled) < 0.9


def test_default_gradient_uses_implicit_rule_at_convergence(key):
    with jax.enable_x64(True):
        utility = 2.0 * jax.random.normal(key, (6, 4), dtype=jnp.float64)
        settings = {"epsilon": 0.3, "num_iterations": 400}
        assert float(_solve(utility, **settings).marginal_error) < 1e-10
        _check_against_finite_differences(utility, **settings)
        unrolled = _gradients(utility, differentiation="unroll", **settings)
        np.testing.assert_allclose(_gradients(utility, **settings), unrolled, atol=1e-9)
        # one CG step makes the implicit rule visibly inexact: the default follows it
        crude = {"implicit_max_cg": 1, **settings}
        implicit = _gradients(utility, differentiation="implicit", **crude)
        np.testing.assert_allclose(_gradients(utility, **crude), implicit, atol=1e-12)
        assert float(jnp.max(jnp.abs(implicit - unrolled))) > 1e-3


def test_vmapped_default_gradient_chooses_per_example(key):
    # one converged and one truncated example in one batch: each gets its own rule
    with jax.enable_x64(True):
        easy = 0.1 * jax.random.normal(key, (6, 4), dtype=jnp.float64)
        hard = 3.0 * jax.random.normal(jax.random.fold_in(key, 1), (6, 4), dtype=jnp.float64)
        settings = {"epsilon": 0.3, "num_iterations": 6, "implicit_max_cg": 1}
        errors = [float(_solve(u, **settings).marginal_error) for u in (easy, hard)]
        assert errors[0] < 1e-3 < errors[1]
        batched = jax.vmap(lambda u: _gradients(u, **settings))(jnp.stack([easy, hard]))
        implicit = _gradients(easy, differentiation="implicit", **settings)
        unrolled = _gradients(hard, differentiation="unroll", **settings)
        np.testing.assert_allclose(batched[0], implicit, atol=1e-12)
        np.testing.assert_allclose(batched[1], unrolled, atol=1e-12)


def test_explicit_implicit_gradient_matches_unrolled_at_convergence(key):
    with jax.enable_x64(True):
        utility = jax.random.normal(key, (4, 3), dtype=jnp.float64)
        settings = {"epsilon": 0.5, "num_iterations": 400}
        implicit = _gradients(utility, differentiation="implicit", **settings)
        unrolled = _gradients(utility, differentiation="unroll", **settings)
        np.testing.assert_allclose(implicit, unrolled, atol=1e-6)


def test_shifted_updates_match_float64_reference_at_low_temperature():
    # U / eps reaches 200: the updates shifted by the current potentials (no max pass) must
    # neither overflow nor drift from a max-shifted float64 log-sum-exp reference
    from scipy.special import logsumexp

    rng = np.random.default_rng(3)
    utility = rng.uniform(size=(6, 3))
    log_b = np.log(np.full(3, 2.0))
    f, g = np.zeros(6), np.zeros(3)
    for _ in range(7):
        g = 0.005 * (log_b - logsumexp((utility + f[:, None]) / 0.005, axis=0))
        f = -0.005 * logsumexp((utility + g[None, :]) / 0.005, axis=1)
    expected = np.exp((utility + f[:, None] + g[None, :]) / 0.005)
    plan = _solve(jnp.asarray(utility, jnp.float32), epsilon=0.005, num_iterations=7).plan
    assert np.all(np.isfinite(np.asarray(plan)))
    np.testing.assert_allclose(plan, expected, atol=2e-4)
