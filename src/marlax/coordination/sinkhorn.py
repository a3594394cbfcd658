"""Log-domain Sinkhorn for soft agent -> task assignment, for one example (vmap for batches).

The plan maximises the entropic objective  <P, U> + eps * H(P)  subject to
P 1 = a (each active agent spreads mass a_i = 1) and P^T 1 = b (task capacities, summing
to the number of active agents; N/M each by default). Every exponent goes through
log-sum-exp, so no temperature overflows (the reference uses plain `exp(U / tau)`).
Rows are updated last, so each active agent's row is an exact distribution over tasks.
The iterations are in `sinkhorn_iterations.py`, the gradients in `sinkhorn_gradients.py`;
`sinkhorn_local.py` solves the same problem on a sparse support (each agent's k candidates).

Gradients (`differentiation`):
- "auto" (default): the implicit rule where the returned plan has converged (marginal error
  <= `implicit_tolerance`), else the exact gradient of the truncated plan (unrolled).
- "implicit": always the fixed-point rule. Fastest, and no memory per iteration, but only
  the gradient of the converged plan: wrong for a plan far from convergence.
- "unroll": backpropagate through every iteration, each under `jax.checkpoint` (memory: the
  potentials per iteration plus one N x M plan); exact for the truncated plan, and the only
  mode that supports higher-order derivatives.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from marlax.coordination.sinkhorn_gradients import fixed_point_plan
from marlax.coordination.sinkhorn_iterations import (
    TINY,
    SinkhornSettings,
    marginal_error,
    plan_from_potentials,
    solve_unrolled,
)
from marlax.validate import require_choice

DIFFERENTIATION_MODES = ("auto", "implicit", "unroll")


class SinkhornResult(NamedTuple):
    """Output of `log_sinkhorn` for one example."""

    plan: jax.Array
    """f32[N, M] soft assignment; row i sums to a_i (1 for active agents), column j to b_j."""
    iterations: jax.Array
    """i32[] iterations run (fewer than the maximum when the threshold was met)."""
    marginal_error: jax.Array
    """f32[] (sum |P 1 - a| + sum |P^T 1 - b|) / sum(a): 0 for an exact plan."""


def log_sinkhorn(
    utility: jax.Array,
    log_a: jax.Array,
    log_b: jax.Array,
    agent_mask: jax.Array,
    task_mask: jax.Array,
    *,
    epsilon: float,
    num_iterations: int,
    threshold: float = 0.0,
    differentiation: str = "auto",
    epsilon_start: float | None = None,
    epsilon_decay: float = 0.9,
    implicit_tolerance: float = 1e-3,
    implicit_max_cg: int = 50,
) -> SinkhornResult:
    """Entropic assignment plan between N agents and M tasks (one example; vmap for B).

    Args:
      utility: f32[N, M] utilities U (higher is better); cost is -U.
      log_a: f32[N] log agent masses (0 for mass 1); ignored where `agent_mask` is False.
      log_b: f32[M] log task capacities, sum(b) == sum(a) over active entries.
      agent_mask: bool[N] active agents; masked rows of the plan are exactly 0.
      task_mask: bool[M] active tasks; masked columns are exactly 0.
      epsilon: entropic temperature in utility units (> 0); -> 0 gives the optimal matching.
      num_iterations: maximum number of iterations (each = one task and one agent update).
      threshold: stop once the relative column marginal error is <= threshold. With 0 the
        loop stops early only where that error is exactly 0 in float32: the potentials no
        longer move at float32 resolution, and further iterations change the plan by
        float32 rounding at most. A negative threshold runs every iteration.
      differentiation: "auto", "implicit" or "unroll" (module docstring); anything else
        raises ConfigError.
      epsilon_start: optional annealing start; eps_k = max(epsilon, start * decay^k).
      epsilon_decay: annealing factor per iteration, in (0, 1).
      implicit_tolerance: largest marginal error of the returned plan at which "auto" uses
        the implicit rule (1e-3: cosine with the exact gradient > 0.999 at 100 x 100).
      implicit_max_cg: conjugate-gradient steps of the implicit rule.

    Returns:
      SinkhornResult(plan f32[N, M], iterations i32[], marginal_error f32[]).
    """
    require_choice("differentiation", differentiation, DIFFERENTIATION_MODES)
    if epsilon_start is None:
        # fixed temperature: work in units of eps once (U / eps, eps = 1), so no iteration
        # rescales the N x M utilities; gradients reach U through this one product
        utility = utility * (1.0 / epsilon)
        epsilon = 1.0
    settings = SinkhornSettings(
        num_iterations=num_iterations,
        threshold=threshold,
        epsilon=epsilon,
        epsilon_start=epsilon_start,
        epsilon_decay=epsilon_decay,
        differentiation=differentiation,
        implicit_tolerance=implicit_tolerance,
        implicit_max_cg=implicit_max_cg,
    )
    if differentiation == "unroll":
        state = solve_unrolled(utility, log_a, log_b, agent_mask, task_mask, settings)
        plan = plan_from_potentials(utility, state.f, state.g, agent_mask, task_mask, epsilon)
        iterations = state.iteration
    else:
        plan, iterations = fixed_point_plan(utility, log_a, log_b, agent_mask, task_mask, settings)
    error = marginal_error(plan, log_a, log_b, agent_mask, task_mask)
    return SinkhornResult(plan, iterations, error)


def uniform_marginals(
    agent_mask: jax.Array, task_mask: jax.Array, task_capacity: jax.Array | None = None
) -> tuple[jax.Array, jax.Array]:
    """Log marginals: mass 1 per active agent; capacities N_active / M_active or user-given.

    Args:
      agent_mask: bool[N]; task_mask: bool[M].
      task_capacity: optional f32[M] relative capacities (> 0), rescaled to sum to N_active.

    Returns:
      (log_a f32[N], log_b f32[M]); masked entries hold 0 (they are never read).
    """
    num_agents = jnp.sum(agent_mask).astype(jnp.float32)
    weights = jnp.ones(task_mask.shape) if task_capacity is None else task_capacity
    weights = jnp.where(task_mask, weights, 0.0)
    capacity = num_agents * weights / jnp.maximum(jnp.sum(weights), TINY)
    log_a = jnp.zeros(agent_mask.shape)
    log_b = jnp.where(task_mask, jnp.log(jnp.maximum(capacity, TINY)), 0.0)
    return log_a, log_b
