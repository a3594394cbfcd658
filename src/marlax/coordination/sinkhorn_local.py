"""Log-domain Sinkhorn on a sparse bipartite support: each agent's k candidate tasks, O(N k).

The dense solver (`sinkhorn.py`) computes a plan over every agent-task pair, [N, M]. Here
agent i may only go to its candidates c_i1..c_ik (its k nearest tasks, say), and the plan
is stored per edge: P f32[N, k], P_is the mass agent i puts on task c_is. It maximises the
entropic objective  <P, U> + eps H(P)  over the support subject to

    sum_s P_is = 1            for every active agent with at least one candidate,
    sum_{(i,s): c_is = j} P_is <= b_j   for every valid task j (capacities, as in the dense
                                        solver: N_active / M_valid each, or user weights
                                        rescaled to sum to N_active).

The column constraint is an inequality: with few candidates an agent's row cannot always
meet every column's equality (a task nobody reaches has column sum 0), so a task may be
under-used but never over-used. Its KL projection scales column j by min(1, b_j / colsum_j),
i.e. the task potential is  g_j = min(0, log b_j - LSE_{edges into j}(U_is / eps + f_i)).
An iteration is that column projection, then the row normalisation
f_i = -LSE_s(U_is / eps + g_{c_is}), so every returned row sums to exactly 1 (Bregman
projections onto convex sets, Benamou et al. 2015; Peyre & Cuturi 2019, sec. 4.6).

With k = M (every task a candidate) and equal capacities, total row mass N_active equals
total capacity, so at the fixed point every column is at its capacity: the plan is the
balanced dense Sinkhorn plan.

Column sums over the sparse support are segment reductions with M segments: nothing of shape
[N, M]. Cost per iteration O(N k + M); memory O(N k + M). Differentiated by unrolling (plain
autodiff through the iterations, each under `jax.checkpoint`, as
`SINKHORN_DIFFERENTIATION = "unroll"` in `marlax.models.coordinated`): the exact gradient of
the truncated plan.

Scatters (segment reductions and the transposes of gathers) dominate the cost on CPU, so an
iteration does one in its forward pass: the column log-sum-exp is shifted by the previous
iteration's -g instead of a `segment_max`. That shift is safe: after the row normalisation
f = rows(g_prev), every edge has logits + f_i + g_prev_j <= 0 (no overflow), and a column
projected last time holds at least b_j / (k max b) (no underflow; an unprojected one has
g_prev_j = 0 and its true sum). The first iteration, with no g_prev, uses `segment_max`. The
recomputation under `jax.checkpoint` keeps each iteration's column totals f32[M] (named
"column_total") rather than scattering again.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name

from marlax.coordination.sinkhorn import uniform_marginals
from marlax.coordination.sinkhorn_iterations import NEG, TINY
from marlax.validate import require, require_positive, require_positive_int


class LocalSinkhornResult(NamedTuple):
    """Output of `local_sinkhorn`."""

    plan: jax.Array
    """f32[..., N, k]: P_is, mass of agent i on its candidate s; rows of active agents with a
    candidate sum to 1; masked agents, empty slots and invalid tasks hold exactly 0."""
    column_excess: jax.Array
    """f32[...]: sum_j max(0, colsum_j - b_j) / N_active, mass over capacity (0 at the fixed
    point; not differentiated)."""


def local_sinkhorn(
    scores: jax.Array,
    candidates: jax.Array,
    agent_mask: jax.Array,
    task_mask: jax.Array,
    task_capacity: jax.Array | None = None,
    *,
    temperature: float,
    num_iterations: int,
) -> LocalSinkhornResult:
    """Entropic assignment of agents to their candidate tasks (leading axes are a batch).

    Args:
      scores: f32[..., N, k] utility U_is of agent i for its candidate slot s.
      candidates: i32[..., N, k] task index of each slot in [0, M), -1 for an empty slot.
      agent_mask: bool[..., N] active agents; masked rows are exactly 0 and take no capacity.
      task_mask: bool[..., M] valid tasks; slots pointing at an invalid task count as empty.
      task_capacity: optional f32[..., M] relative capacities (> 0), rescaled to sum to
        N_active (`uniform_marginals`); default equal, N_active / M_valid each.
      temperature: eps > 0 in utility units; smaller is closer to a matching.
      num_iterations: column projections, each followed by a row normalisation (>= 1).

    Returns:
      LocalSinkhornResult(plan f32[..., N, k], column_excess f32[...]).

    Raises:
      ConfigError: temperature or num_iterations out of range, or mismatched shapes.
    """
    require_positive("temperature", temperature)
    require_positive_int("num_iterations", num_iterations)
    require(scores.ndim >= 2, "scores", scores.shape, "f32[..., N, k]")
    lead = scores.shape[:-2]
    require(
        candidates.shape == scores.shape,
        "candidates",
        candidates.shape,
        f"i32{list(scores.shape)}, the shape of scores",
    )
    require(agent_mask.shape == scores.shape[:-1], "agent_mask", agent_mask.shape, "bool[..., N]")
    require(
        task_mask.ndim == scores.ndim - 1 and task_mask.shape[:-1] == lead,
        "task_mask",
        task_mask.shape,
        f"bool[{', '.join(map(str, lead))}{', ' if lead else ''}M]",
    )
    if task_capacity is None:
        task_capacity = jnp.ones(task_mask.shape, jnp.float32)
    require(
        task_capacity.shape == task_mask.shape, "task_capacity", task_capacity.shape, "f32[..., M]"
    )
    count = math.prod(lead)
    solve = jax.vmap(_solve_one, in_axes=(0, 0, 0, 0, 0, None, None))
    flat = (
        scores.reshape(count, *scores.shape[-2:]),
        candidates.reshape(count, *candidates.shape[-2:]),
        agent_mask.reshape(count, -1).astype(bool),
        task_mask.reshape(count, -1).astype(bool),
        task_capacity.reshape(count, -1),
    )
    plan, excess = solve(*flat, float(temperature), int(num_iterations))
    return LocalSinkhornResult(plan.reshape(scores.shape), excess.reshape(lead))


def _segment_logsumexp(values: jax.Array, segments: jax.Array, num_segments: int) -> jax.Array:
    """f32[M] log sum_{e: segment_e = j} exp(values_e); about log(1e-30) + NEG where empty.

    `values` hold NEG on edges that belong to no segment. The max shift is held out of the
    gradient: the result is exact for any shift, so the gradient is the softmax's.
    """
    shift = jax.ops.segment_max(values, segments, num_segments=num_segments)
    shift = jax.lax.stop_gradient(jnp.maximum(shift, NEG))  # empty segments: -inf -> NEG
    total = jax.ops.segment_sum(jnp.exp(values - shift[segments]), segments, num_segments)
    return shift + jnp.log(jnp.maximum(total, TINY))


def _solve_one(scores, candidates, agent_mask, task_mask, task_capacity, eps, num_iterations):
    """One example: scores f32[N, k] -> (plan f32[N, k], column excess f32[])."""
    chex.assert_rank([scores, candidates], 2)
    num_tasks = task_mask.shape[0]
    safe = jnp.clip(candidates, 0, num_tasks - 1)
    edge = (candidates >= 0) & (candidates < num_tasks) & agent_mask[:, None] & task_mask[safe]
    _, log_b = uniform_marginals(agent_mask, task_mask, task_capacity)
    # work in units of eps once: gradients reach the scores through this one product
    logits = jnp.where(edge, scores * (1.0 / eps), NEG)  # f32[N, k]
    flat_safe = safe.reshape(-1)
    has_edge = jnp.any(edge, axis=1)

    def _rows(g: jax.Array) -> jax.Array:
        """f_i = -LSE_s(logits_is + g_{c_is}): every active row with an edge sums to 1."""
        lse = jax.nn.logsumexp(jnp.where(edge, logits + g[safe], NEG), axis=1)
        return jnp.where(has_edge, -lse, 0.0)  # agents without an edge keep an empty row

    def _columns(f: jax.Array, g_prev: jax.Array | None) -> jax.Array:
        """g_j = min(0, log b_j - LSE over the edges into j): scale down over-full columns.

        With `g_prev` (the last g, f = rows(g_prev)) the LSE is shifted by -g_prev: one
        scatter instead of two (module docstring: why no edge overflows or underflows)."""
        incoming = jnp.where(edge, logits + f[:, None], NEG).reshape(-1)
        if g_prev is None:
            lse = _segment_logsumexp(incoming, flat_safe, num_tasks)
        else:
            shift = jax.lax.stop_gradient(-g_prev)  # exact for any shift: softmax gradient
            total = jax.ops.segment_sum(jnp.exp(incoming - shift[flat_safe]), flat_safe, num_tasks)
            total = checkpoint_name(total, "column_total")
            lse = shift + jnp.log(jnp.maximum(total, TINY))
        return jnp.where(task_mask, jnp.minimum(0.0, log_b - lse), 0.0)

    def _iteration(carry: tuple[jax.Array, jax.Array], _: None):
        """Carries (f f32[N], g f32[M]) with f = rows(g); stacks nothing."""
        g = _columns(carry[0], carry[1])
        return (_rows(g), g), None

    # the backward pass recomputes an iteration from its carry but keeps its column totals
    body = jax.checkpoint(
        _iteration, policy=jax.checkpoint_policies.save_only_these_names("column_total")
    )
    g = _columns(jnp.zeros(agent_mask.shape, scores.dtype), None)
    # the last iteration's g is kept: the plan is built from (f, g) in one pass
    (f, g), _ = jax.lax.scan(body, (_rows(g), g), None, length=num_iterations - 1)
    plan = jnp.where(edge, jnp.exp(jnp.where(edge, logits + f[:, None] + g[safe], NEG)), 0.0)
    return plan, _column_excess(plan, flat_safe, log_b, task_mask, agent_mask)


def _column_excess(plan, flat_safe, log_b, task_mask, agent_mask) -> jax.Array:
    """f32[] sum_j max(0, colsum_j - b_j) / N_active, not differentiated."""
    plan = jax.lax.stop_gradient(plan)
    columns = jax.ops.segment_sum(plan.reshape(-1), flat_safe, num_segments=task_mask.shape[0])
    over = jnp.where(task_mask, jnp.maximum(columns - jnp.exp(log_b), 0.0), 0.0)
    return jnp.sum(over) / jnp.maximum(jnp.sum(agent_mask), 1)
