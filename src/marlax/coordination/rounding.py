"""Hard assignments for evaluation: capacity-respecting rounding of a plan, and the exact optimum.

`round_assignment` is a jittable epsilon-scaling auction (Bertsekas 1988; "similar objects"
variant for integer task capacities) run on the log-plan. A Sinkhorn plan is
P_ij = exp((U_ij + f_i + g_j) / eps), so log P equals U / eps up to per-agent constants (which
never change an agent's choice) and per-task constants (which change every capacity-filling
assignment's total by the same amount): the auction on log P solves the assignment on U, warm-
started at the Sinkhorn dual prices -g / eps. Memory: one f32[N, M + 1] log-plan; each bidding
round is O(128 M + N) work (at most 128 bidders), with no sort over N x M.
`hungarian` is the exact optimum from `scipy.optimize.linear_sum_assignment` (host NumPy, for
checks and benchmarks).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.errors import ConfigError
from marlax.validate import require_positive, require_positive_int

# Below log of the smallest positive float32 (~ -103.3): the benefit of a zero plan entry.
_FLOOR = -110.0
# Agents that bid in one round (the first unassigned ones): O(_BIDDERS * M) work per round.
_BIDDERS = 128


class _Auction(NamedTuple):
    owner: jax.Array  # i32[N] task held by each agent (-1: none)
    paid: jax.Array  # f32[N] price each holder paid for its copy of the task
    base: jax.Array  # f32[M] price of each task's still-unused copies
    rounds: jax.Array  # i32[] bidding rounds done (all phases)


def round_assignment(
    plan: jax.Array,
    agent_mask: jax.Array | None = None,
    capacity: jax.Array | None = None,
    *,
    epsilon_start: float = 1.0,
    epsilon_decay: float = 0.1,
    max_rounds: int = 100_000,
) -> jax.Array:
    """Round one plan to a hard assignment that respects integer task capacities.

    See `auction_rounding` (this is its first output).

    Returns:
      i32[N] task index per agent (-1 for masked agents).
    """
    return auction_rounding(
        plan,
        agent_mask,
        capacity,
        epsilon_start=epsilon_start,
        epsilon_decay=epsilon_decay,
        max_rounds=max_rounds,
    )[0]


def auction_rounding(
    plan: jax.Array,
    agent_mask: jax.Array | None = None,
    capacity: jax.Array | None = None,
    *,
    epsilon_start: float = 1.0,
    epsilon_decay: float = 0.1,
    max_rounds: int = 100_000,
) -> tuple[jax.Array, jax.Array]:
    """Maximise sum_i log P[i, task_i] with at most capacity_j agents on task j (auction).

    Phases eps = epsilon_start * decay^k down to 1 / N (log-plan units); each phase runs
    bidding rounds (the first 128 unassigned agents bid at once) until every active agent
    holds a task. The result is within
    N * eps_final = 1 nat of the best log-plan total, i.e. within the Sinkhorn temperature of
    the optimal utility when the plan's support holds an optimal assignment. When the
    capacities sum to fewer than the active agents, the agents left over (chosen by the
    auction, through a virtual task of the missing capacity) take their highest-mass task.

    Args:
      plan: f32[N, M] soft assignment (rows of active agents sum to 1).
      agent_mask: optional bool[N]; masked agents get task -1.
      capacity: optional f32[M] integer capacities; default: column masses rounded.
      epsilon_start: first bid increment, in nats of plan mass (> 0).
      epsilon_decay: factor between phases, in (0, 1).
      max_rounds: safety cap on bidding rounds per phase; an active agent still without a
        task when it is hit gets -1.

    Returns:
      (i32[N] task index per agent (-1 for masked agents), i32[] bidding rounds run).
    """
    require_positive("epsilon_start", epsilon_start)
    require_positive_int("max_rounds", max_rounds)
    if not 0.0 < epsilon_decay < 1.0:
        raise ConfigError("epsilon_decay", epsilon_decay, "a number in (0, 1)")
    num_agents, num_tasks = plan.shape
    agent_mask = jnp.ones(num_agents, bool) if agent_mask is None else agent_mask
    if capacity is None:
        capacity = jnp.round(jnp.sum(plan, axis=0))
    capacity = jnp.maximum(jnp.round(capacity), 0.0).astype(jnp.int32)
    benefit = jnp.where(plan > 0, jnp.log(jnp.where(plan > 0, plan, 1.0)), _FLOOR)
    # virtual task M: holds the agents that find no capacity; worth their best task to them
    deficit = jnp.maximum(jnp.sum(agent_mask) - jnp.sum(capacity), 0).astype(jnp.int32)
    benefit = jnp.concatenate([benefit, jnp.max(benefit, axis=1, keepdims=True)], axis=1)
    capacity = jnp.concatenate([capacity, deficit[None]])
    owner, rounds = _auction(
        benefit,
        capacity,
        agent_mask,
        _epsilons(num_agents, epsilon_start, epsilon_decay),
        max_rounds,
    )
    owner = jnp.where(owner == num_tasks, jnp.argmax(plan, axis=1), owner)
    return jnp.where(agent_mask, owner, -1).astype(jnp.int32), rounds


def _epsilons(num_agents, start, decay):
    """f32[K] phase increments start * decay^k, the last one 1 / N (static count)."""
    final = 1.0 / num_agents
    values = [start]
    while values[-1] * decay > final:
        values.append(values[-1] * decay)
    return jnp.asarray([*values, final] if values[-1] > final else values, jnp.float32)


def _auction(benefit, capacity, agent_mask, epsilons, max_rounds):
    """Epsilon-scaling over phases; prices carry over, assignments restart each phase."""
    num_agents, num_tasks = benefit.shape
    init = _Auction(
        jnp.full(num_agents, -1, jnp.int32),
        jnp.zeros(num_agents),
        jnp.zeros(num_tasks),
        jnp.asarray(0, jnp.int32),
    )

    def _phase(state, eps):
        lowest = _copy_prices(state, capacity)[0]
        state = _Auction(init.owner, init.paid, jnp.where(capacity > 0, lowest, 0.0), state.rounds)
        start = state.rounds

        def _continue(state):
            pending = agent_mask & (state.owner < 0)
            return jnp.any(pending) & (state.rounds - start < max_rounds)

        def _round(state):
            return _bid_round(state, benefit, capacity, agent_mask, eps)

        return jax.lax.while_loop(_continue, _round, state), None

    final, _ = jax.lax.scan(_phase, init, epsilons)
    return final.owner, final.rounds


def _copy_prices(state, capacity):
    """Per task: lowest and second-lowest copy price, its lowest holder, free copies.

    A task with c copies has (c - held) unused copies at its base price and one copy per
    holder at the price that holder paid (never below the base).
    """
    num_agents = state.owner.shape[0]
    num_tasks = capacity.shape[0]
    held = state.owner >= 0
    segment = jnp.where(held, state.owner, num_tasks)  # unassigned: an extra, dropped segment
    index = jnp.arange(num_agents)

    def _min(values):
        return jax.ops.segment_min(values, segment, num_segments=num_tasks + 1)[:num_tasks]

    count = jax.ops.segment_sum(held.astype(jnp.int32), segment, num_segments=num_tasks + 1)
    free = capacity - count[:num_tasks]
    low_held = _min(jnp.where(held, state.paid, jnp.inf))
    at_low = held & (state.paid <= low_held[jnp.clip(state.owner, 0)])
    low_holder = _min(jnp.where(at_low, index, num_agents))
    others = held & (index != low_holder[jnp.clip(state.owner, 0)])
    second_held = _min(jnp.where(others, state.paid, jnp.inf))
    lowest = jnp.where(free >= 1, state.base, low_held)
    second = jnp.where(free >= 2, state.base, jnp.where(free == 1, low_held, second_held))
    lowest = jnp.where(capacity > 0, lowest, jnp.inf)
    return lowest, second, low_holder, free


def _bid_round(state, benefit, capacity, agent_mask, eps):
    """One round: up to `_BIDDERS` unassigned agents bid for their best copy; each task keeps
    its highest bid and, when full, releases its cheapest holder. O(_BIDDERS * M)."""
    num_agents, num_tasks = benefit.shape
    lowest, second, low_holder, free = _copy_prices(state, capacity)
    pending = agent_mask & (state.owner < 0)
    bidder = jnp.nonzero(pending, size=min(num_agents, _BIDDERS), fill_value=num_agents)[0]
    valid = bidder < num_agents
    rows = benefit[jnp.clip(bidder, 0, num_agents - 1)]  # f32[K, M]
    value = rows - lowest[None, :]
    best = jnp.argmax(value, axis=1)
    top = jnp.max(value, axis=1)
    other = jnp.max(jnp.where(jnp.arange(num_tasks)[None, :] == best[:, None], -jnp.inf, value), 1)
    same = jnp.take_along_axis(rows, best[:, None], axis=1)[:, 0] - second[best]
    runner_up = jnp.maximum(other, same)
    runner_up = jnp.where(jnp.isfinite(runner_up), runner_up, top)  # no alternative: bid + eps
    bid = lowest[best] + (top - runner_up) + eps
    high = jax.ops.segment_max(jnp.where(valid, bid, -jnp.inf), best, num_segments=num_tasks)
    winner = jax.ops.segment_min(
        jnp.where(valid & (bid >= high[best]), bidder, num_agents), best, num_segments=num_tasks
    )
    won = valid & (bidder == winner[best])
    full = (winner < num_agents) & (free <= 0)
    task = jnp.clip(state.owner, 0)
    evicted = (state.owner >= 0) & full[task] & (jnp.arange(num_agents) == low_holder[task])
    target = jnp.where(won, bidder, num_agents)  # out of range: dropped
    owner = jnp.where(evicted, -1, state.owner).at[target].set(best.astype(jnp.int32), mode="drop")
    paid = state.paid.at[target].set(bid, mode="drop")
    return _Auction(owner, paid, state.base, state.rounds + 1)


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
