"""Sinkhorn on each agent's k candidate tasks: the dense plan when every task is a candidate,
a hand-checked infeasible case, marginals, masks, transforms, gradients, settings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from marlax.coordination import local_sinkhorn, log_sinkhorn, uniform_marginals
from marlax.errors import ConfigError


def _shuffled_all_tasks(key: jax.Array, num_agents: int, num_tasks: int) -> jax.Array:
    """i32[N, M]: every task a candidate of every agent, in a different order per agent."""
    keys = jax.random.split(key, num_agents)
    return jax.vmap(lambda k: jax.random.permutation(k, num_tasks))(keys).astype(jnp.int32)


def _sparse_problem(key: jax.Array, num_agents: int = 20, num_tasks: int = 10, k: int = 3):
    """Random scores f32[N, k], distinct candidates i32[N, k] with ~20% empty slots, and
    agent mask with agents 3 and 7 masked."""
    score_key, order_key, empty_key = jax.random.split(key, 3)
    scores = 2.0 * jax.random.normal(score_key, (num_agents, k))
    candidates = _shuffled_all_tasks(order_key, num_agents, num_tasks)[:, :k]
    empty = jax.random.bernoulli(empty_key, 0.2, (num_agents, k))
    candidates = jnp.where(empty, -1, candidates)
    agent_mask = jnp.ones(num_agents, bool).at[jnp.array([3, 7])].set(False)
    return scores, candidates, agent_mask, jnp.ones(num_tasks, bool)


def _columns(plan: jax.Array, candidates: jax.Array, num_tasks: int) -> np.ndarray:
    """f64[M] column sums of a sparse plan, by a plain NumPy loop."""
    totals = np.zeros(num_tasks)
    for (i, s), task in np.ndenumerate(np.asarray(candidates)):
        if task >= 0:
            totals[task] += float(plan[i, s])
    return totals


def test_every_task_a_candidate_gives_the_dense_converged_plan(key):
    """k = M, equal capacities (total capacity = row mass): the <= fixed point is the balanced
    plan. float64, 300 iterations at eps 0.5 on 7 agents x 5 tasks, one agent and one task
    masked; each agent lists the tasks in its own order. Agreement to 1e-9."""
    with jax.enable_x64(True):
        num_agents, num_tasks = 7, 5
        utility_key, order_key = jax.random.split(key)
        utility = jax.random.normal(utility_key, (num_agents, num_tasks), dtype=jnp.float64)
        agent_mask = jnp.ones(num_agents, bool).at[2].set(False)
        task_mask = jnp.ones(num_tasks, bool).at[4].set(False)
        log_a, log_b = uniform_marginals(agent_mask, task_mask)
        dense = log_sinkhorn(
            utility,
            log_a,
            log_b,
            agent_mask,
            task_mask,
            epsilon=0.5,
            num_iterations=300,
            threshold=-1.0,
            differentiation="unroll",
        ).plan
        candidates = _shuffled_all_tasks(order_key, num_agents, num_tasks)
        scores = jnp.take_along_axis(utility, candidates, axis=1)
        result = local_sinkhorn(
            scores, candidates, agent_mask, task_mask, temperature=0.5, num_iterations=300
        )
        sparse_as_dense = np.zeros((num_agents, num_tasks))
        np.put_along_axis(sparse_as_dense, np.asarray(candidates), np.asarray(result.plan), 1)
        np.testing.assert_allclose(sparse_as_dense, dense, atol=1e-9)
        assert float(result.column_excess) < 1e-9


def test_infeasible_columns_yield_to_the_rows():
    """2 agents, 3 tasks (capacity 2/3 each): agent 0 may take task 0 or 1 at equal utility,
    agent 1 only task 2. Rows are projected last, so agent 1 puts its whole unit on task 2
    (1/3 over capacity: excess 1/6 per agent) and agent 0 splits 1/2, 1/2 (by symmetry;
    both columns stay under 2/3)."""
    scores = jnp.array([[0.3, 0.3], [1.0, 5.0]])
    candidates = jnp.array([[0, 1], [2, -1]], jnp.int32)
    result = local_sinkhorn(
        scores,
        candidates,
        jnp.ones(2, bool),
        jnp.ones(3, bool),
        temperature=0.1,
        num_iterations=50,
    )
    np.testing.assert_allclose(result.plan, [[0.5, 0.5], [1.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(result.column_excess, 1.0 / 6.0, atol=1e-6)


def test_rows_sum_to_one_and_columns_stay_within_capacity(key):
    """20 agents (2 masked) over 10 tasks, 3 candidates each (some slots empty): capacity
    18 / 10 per task. Four active agents have no candidate, so their 4 units of capacity
    are left over and the column constraint is slack somewhere."""
    scores, candidates, agent_mask, task_mask = _sparse_problem(key)
    candidates = candidates.at[10:14].set(-1)
    plan = local_sinkhorn(
        scores, candidates, agent_mask, task_mask, temperature=0.3, num_iterations=500
    ).plan
    has_edge = np.asarray(agent_mask) & np.asarray((candidates >= 0).any(axis=1))
    assert has_edge.sum() == 14 and (~has_edge).sum() == 6  # both kinds are exercised
    rows = np.asarray(plan.sum(axis=1))
    np.testing.assert_allclose(rows[has_edge], 1.0, atol=1e-5)
    np.testing.assert_array_equal(rows[~has_edge], 0.0)
    capacity = agent_mask.sum() / task_mask.sum()
    columns = _columns(plan, candidates, task_mask.shape[0])
    assert columns.max() <= capacity + 1e-4, (columns, capacity)
    assert columns.min() < capacity - 0.05  # the inequality is slack somewhere here


def test_empty_slots_and_masked_agents_are_zero_and_unaffected_by_their_scores(key):
    scores, candidates, agent_mask, task_mask = _sparse_problem(key)
    task_mask = task_mask.at[5].set(False)  # slots on an invalid task count as empty too
    settings = {"temperature": 0.3, "num_iterations": 40}
    plan = local_sinkhorn(scores, candidates, agent_mask, task_mask, **settings).plan
    inert = (candidates < 0) | (candidates == 5) | ~agent_mask[:, None]
    np.testing.assert_array_equal(np.asarray(plan)[np.asarray(inert)], 0.0)
    noise = 50.0 * jax.random.normal(jax.random.key(3), scores.shape)
    moved = local_sinkhorn(
        jnp.where(inert, scores + noise, scores), candidates, agent_mask, task_mask, **settings
    ).plan
    np.testing.assert_array_equal(moved, plan)


def test_jit_equals_no_jit_and_vmap_equals_a_loop(key):
    problems = [_sparse_problem(k) for k in jax.random.split(key, 3)]
    batched = [jnp.stack(parts) for parts in zip(*problems, strict=True)]
    settings = {"temperature": 0.3, "num_iterations": 20}
    batch = local_sinkhorn(*batched, **settings)
    jitted = jax.jit(lambda *args: local_sinkhorn(*args, **settings))(*batched)
    np.testing.assert_allclose(jitted.plan, batch.plan, atol=1e-6)
    assert batch.plan.shape == (3, 20, 3) and batch.column_excess.shape == (3,)
    for index, problem in enumerate(problems):
        single = local_sinkhorn(*problem, **settings)
        np.testing.assert_allclose(batch.plan[index], single.plan, atol=1e-6)
        np.testing.assert_allclose(batch.column_excess[index], single.column_excess, atol=1e-6)


def test_gradient_matches_finite_differences(key):
    """The unrolled gradient of a weighted plan sum w.r.t. the scores (float64, 15 iterations,
    an unconverged plan with empty slots and masked agents)."""
    with jax.enable_x64(True):
        scores, candidates, agent_mask, task_mask = _sparse_problem(key, 8, 5, 3)
        scores = scores.astype(jnp.float64)
        weights = jax.random.normal(jax.random.key(4), scores.shape, dtype=jnp.float64)

        @jax.jit
        def _objective(scores: jax.Array) -> jax.Array:
            plan = local_sinkhorn(
                scores, candidates, agent_mask, task_mask, temperature=0.5, num_iterations=15
            ).plan
            return jnp.sum(plan * weights)

        assert float(jnp.max(jnp.abs(jax.grad(_objective)(scores)))) > 1e-3
        check_grads(_objective, (scores,), order=1, modes=("rev",), eps=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("field", "settings", "shapes"),
    [
        ("temperature", {"temperature": 0.0, "num_iterations": 5}, {}),
        ("num_iterations", {"temperature": 1.0, "num_iterations": 0}, {}),
        ("candidates", {"temperature": 1.0, "num_iterations": 5}, {"k": 2}),
        ("task_mask", {"temperature": 1.0, "num_iterations": 5}, {"task_lead": 2}),
    ],
)
def test_bad_settings_name_their_field(field, settings, shapes):
    scores = jnp.zeros((4, 3))
    candidates = jnp.zeros((4, shapes.get("k", 3)), jnp.int32)
    task_mask = jnp.ones((shapes["task_lead"], 5) if "task_lead" in shapes else (5,), bool)
    with pytest.raises(ConfigError) as error:
        local_sinkhorn(scores, candidates, jnp.ones(4, bool), task_mask, **settings)
    assert error.value.field == field
