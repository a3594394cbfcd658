"""Auction rounding of a plan: hand cases, Hungarian optimum, capacities, masks, jit == eager."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.coordination import (
    assignment_cost,
    hungarian,
    log_sinkhorn,
    round_assignment,
    uniform_marginals,
)
from marlax.coordination.rounding import auction_rounding
from marlax.errors import ConfigError

# Greedy by mass gives B -> 0 (0.51), C -> 1 (0.50), A -> 2 (0.01): product 0.0026.
# The best product is A -> 1, B -> 0, C -> 2: 0.49 * 0.51 * 0.49 = 0.122 (> 0.5 * 0.48 * 0.5).
GREEDY_TRAP = jnp.array([[0.50, 0.49, 0.01], [0.51, 0.01, 0.48], [0.01, 0.50, 0.49]])


def _log_total(plan, tasks):
    plan = np.asarray(plan, np.float64)
    return float(np.log(plan[np.arange(len(tasks)), tasks]).sum())


def _sinkhorn_plan(cost, epsilon):
    mask = jnp.ones(cost.shape[0], bool)
    task_mask = jnp.ones(cost.shape[1], bool)
    log_a, log_b = uniform_marginals(mask, task_mask)
    return log_sinkhorn(
        -jnp.asarray(cost),
        log_a,
        log_b,
        mask,
        task_mask,
        epsilon=epsilon,
        num_iterations=2000,
        threshold=1e-5,
        epsilon_start=1.0,
        epsilon_decay=0.9,
    ).plan


def test_hand_case_beats_greedy():
    tasks = np.asarray(round_assignment(GREEDY_TRAP))
    np.testing.assert_array_equal(tasks, [1, 0, 2])
    np.testing.assert_array_equal(tasks, hungarian(-np.log(np.asarray(GREEDY_TRAP))))


def test_hand_case_with_capacity():
    # task 0 holds three agents; agent 3 prefers it least (0.6 vs 0.9), so it takes task 1
    plan = jnp.array([[0.9, 0.1], [0.9, 0.1], [0.9, 0.1], [0.6, 0.4]])
    tasks, rounds = auction_rounding(plan, capacity=jnp.array([3.0, 1.0]))
    np.testing.assert_array_equal(np.asarray(tasks), [0, 0, 0, 1])
    assert int(rounds) >= 1


def test_equals_hungarian_on_random_square_plans():
    rng = np.random.default_rng(0)
    for _ in range(3):
        cost = rng.uniform(size=(12, 12)).astype(np.float32)
        plan = _sinkhorn_plan(cost, epsilon=0.01)
        tasks = np.asarray(round_assignment(plan))
        assert sorted(tasks.tolist()) == list(range(12))
        # the auction's guarantee: within N * eps_final = 1 nat of the best log-plan total
        best = hungarian(-np.log(np.maximum(np.asarray(plan, np.float64), 1e-45)))
        assert _log_total(plan, tasks) >= _log_total(plan, best) - 1.0
        assert assignment_cost(cost, tasks) == pytest.approx(
            assignment_cost(cost, hungarian(cost)), rel=1e-6
        )


def test_capacities_respected_and_optimal_for_rectangular_plans():
    rng = np.random.default_rng(1)
    cost = rng.uniform(size=(12, 3)).astype(np.float32)  # capacity 4 each
    plan = _sinkhorn_plan(cost, epsilon=0.01)
    tasks = np.asarray(round_assignment(plan))
    np.testing.assert_array_equal(np.bincount(tasks, minlength=3), [4, 4, 4])
    optimum = hungarian(np.repeat(cost, 4, axis=1)) // 4  # each task copied 4 times
    assert assignment_cost(cost, tasks) == pytest.approx(assignment_cost(cost, optimum), rel=1e-6)


def test_too_little_capacity_leaves_agents_on_their_best_task():
    plan = jnp.array([[0.7, 0.3], [0.8, 0.2], [0.4, 0.6], [0.45, 0.55]])
    tasks = np.asarray(round_assignment(plan, capacity=jnp.array([1.0, 1.0])))
    # zero loss: one agent of each preference group holds a task, the other overflows onto its
    # highest-mass task anyway
    np.testing.assert_array_equal(tasks, [0, 0, 1, 1])


def test_masked_agents_get_minus_one_and_free_capacity(key):
    plan = jax.nn.softmax(jax.random.normal(key, (6, 3)), axis=1)
    mask = jnp.array([True, False, True, True, False, True])
    tasks = np.asarray(round_assignment(plan, mask, capacity=jnp.array([2.0, 1.0, 1.0])))
    assert tasks[1] == -1 and tasks[4] == -1
    assert np.all(np.bincount(tasks[np.asarray(mask)], minlength=3) <= [2, 1, 1])


def test_jit_equals_eager_and_is_deterministic(key):
    plan = jax.nn.softmax(3.0 * jax.random.normal(key, (12, 12)), axis=1)
    eager = auction_rounding(plan)
    jitted = jax.jit(auction_rounding)(plan)
    again = jax.jit(auction_rounding)(plan)
    for left, right in [(eager, jitted), (jitted, again)]:
        np.testing.assert_array_equal(np.asarray(left[0]), np.asarray(right[0]))
        assert int(left[1]) == int(right[1])


def test_vmap_equals_loop(key):
    plans = jax.nn.softmax(2.0 * jax.random.normal(key, (3, 12, 12)), axis=-1)
    batched = np.asarray(jax.vmap(round_assignment)(plans))
    for plan, row in zip(plans, batched, strict=True):
        np.testing.assert_array_equal(np.asarray(round_assignment(plan)), row)


@pytest.mark.parametrize(
    "settings", [{"epsilon_decay": 1.0}, {"epsilon_start": 0.0}, {"max_rounds": 0}]
)
def test_bad_settings_raise_config_error(settings):
    with pytest.raises(ConfigError):
        auction_rounding(GREEDY_TRAP, **settings)
