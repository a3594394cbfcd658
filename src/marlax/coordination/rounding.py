"""Hard assignments for evaluation: capacity-respecting rounding of a plan, and the exact optimum.

`round_assignment` is jittable (rounds of mutual proposals, O(N M) each, no sort over N x M).
`hungarian` is the exact optimum from `scipy.optimize.linear_sum_assignment` (host NumPy, for
checks and benchmarks).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def round_assignment(
    plan: jax.Array, agent_mask: jax.Array | None = None, capacity: jax.Array | None = None
) -> jax.Array:
    """Round one plan to a hard assignment that respects integer task capacities.

    Rounds of mutual proposals (a greedy matching on plan mass, no sort over N x M): every
    unassigned agent proposes its highest-mass task that has capacity left, every task accepts
    its highest-mass proposer, until all agents are placed. When every task is full
    (capacities summing to fewer than N), the remaining agents take their best task.

    Args:
      plan: f32[N, M] soft assignment (rows of active agents sum to 1).
      agent_mask: optional bool[N]; masked agents get task -1.
      capacity: optional f32[M] integer capacities; default: column masses rounded.

    Returns:
      i32[N] task index per agent (-1 for masked agents).
    """
    num_agents, num_tasks = plan.shape
    agent_mask = jnp.ones(num_agents, bool) if agent_mask is None else agent_mask
    if capacity is None:
        capacity = jnp.round(jnp.sum(plan, axis=0))
    init = (jnp.full(num_agents, -1, jnp.int32), capacity.astype(jnp.float32), jnp.asarray(0))

    def _pending(state):
        return agent_mask & (state[0] < 0)

    def _continue(state):
        return jnp.any(_pending(state)) & (state[2] <= num_agents)

    def _round(state):
        """One proposal round: at least one pending agent is placed."""
        assigned, remaining, count = state
        pending = _pending(state)
        open_task = remaining > 0.5
        scores = jnp.where(open_task[None, :], plan, -1.0)
        choice = jnp.where(jnp.any(open_task), jnp.argmax(scores, axis=1), jnp.argmax(plan, 1))
        value = jnp.where(pending, jnp.max(jnp.where(open_task[None, :], plan, -1.0), 1), -2.0)
        value = jnp.where(jnp.any(open_task), value, jnp.where(pending, 1.0, -2.0))
        best = jax.ops.segment_max(value, choice, num_segments=num_tasks)
        index = jnp.arange(num_agents)
        candidate = pending & (value >= best[choice])
        first = jax.ops.segment_min(
            jnp.where(candidate, index, num_agents), choice, num_segments=num_tasks
        )
        full = ~jnp.any(open_task)  # everything full: place all pending agents at once
        accept = pending & ((index == first[choice]) | full)
        assigned = jnp.where(accept, choice, assigned).astype(jnp.int32)
        taken = jax.ops.segment_sum(accept.astype(jnp.float32), choice, num_segments=num_tasks)
        return assigned, remaining - taken, count + 1

    assigned, _, _ = jax.lax.while_loop(_continue, _round, init)
    return assigned


def hungarian(cost: np.ndarray) -> np.ndarray:
    """Exact minimum-cost assignment (N <= M: each agent one distinct task).

    Args:
      cost: f[N, M] cost matrix (host array).

    Returns:
      i64[N] task index per agent.
    """
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.asarray(cost))
    tasks = np.full(np.asarray(cost).shape[0], -1, dtype=np.int64)
    tasks[rows] = cols
    return tasks


def assignment_cost(cost: np.ndarray, tasks: np.ndarray) -> float:
    """Total cost sum_i cost[i, tasks[i]] over agents with a task (tasks[i] >= 0)."""
    cost = np.asarray(cost)
    tasks = np.asarray(tasks)
    chosen = tasks >= 0
    return float(cost[np.nonzero(chosen)[0], tasks[chosen]].sum())
