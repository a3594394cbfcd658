"""Log-domain Sinkhorn for soft agent -> task assignment, for one example (vmap for batches).

The plan maximises the entropic objective  <P, U> + eps * H(P)  subject to
P 1 = a (each active agent spreads mass a_i = 1) and P^T 1 = b (task capacities, summing
to the number of active agents; N/M each by default). With dual potentials f, g (utility
units) the plan is  P_ij = exp((U_ij + f_i + g_j) / eps)  and the updates are

    g_j = eps * log b_j - eps * LSE_i((U_ij + f_i) / eps)
    f_i = eps * log a_i - eps * LSE_j((U_ij + g_j) / eps)

(Cuturi 2013, log-domain form of Peyre & Cuturi 2019, eq. 4.43). Every exponent goes through
log-sum-exp, so no temperature overflows (the reference uses plain `exp(U / tau)`).
Rows are updated last, so each active agent's row is an exact distribution over tasks.

Gradients: `"unroll"` backpropagates through every iteration, each under `jax.checkpoint`
(memory: the potentials per iteration plus one N x M plan); `"implicit"` differentiates the
fixed point (Luise et al. 2018; Eisenberger et al. 2022): one Schur-complement solve by
conjugate gradients on M x M, never materialised, O(N M) per CG step.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.sparse.linalg import cg

# Finite stand-in for log(0): keeps every branch of `jnp.where` finite, so no 0 * inf in grads.
_NEG = -1e30
_TINY = 1e-30
_SUM_FLOOR = 1e-38


class SinkhornResult(NamedTuple):
    """Output of `log_sinkhorn` for one example."""

    plan: jax.Array
    """f32[N, M] soft assignment; row i sums to a_i (1 for active agents), column j to b_j."""
    iterations: jax.Array
    """i32[] iterations run (fewer than the maximum when the threshold was met)."""
    marginal_error: jax.Array
    """f32[] (sum |P 1 - a| + sum |P^T 1 - b|) / sum(a): 0 for an exact plan."""


class _Potentials(NamedTuple):
    f: jax.Array  # f32[N] agent potentials (utility units)
    g: jax.Array  # f32[M] task potentials (utility units)
    error: jax.Array  # f32[] column marginal error of (f, g_previous)
    iteration: jax.Array  # i32[] iterations done


def _task_update(utility, f, log_b, task_mask, eps):
    """g = eps log b - eps LSE_i((U + f) / eps); masked tasks get the finite log(0)."""
    # multiply by 1/eps: an elementwise divide costs several multiplies on CPU
    lse = jax.nn.logsumexp((utility + f[:, None]) * (1.0 / eps), axis=0)
    return jnp.where(task_mask, eps * (log_b - lse), _NEG)


def _agent_update(utility, g, log_a, agent_mask, eps):
    """f = eps log a - eps LSE_j((U + g) / eps); masked agents get the finite log(0)."""
    lse = jax.nn.logsumexp((utility + g[None, :]) * (1.0 / eps), axis=1)
    return jnp.where(agent_mask, eps * (log_a - lse), _NEG)


def _shifted_update(utility, f, g, log_marginal, mask, eps, axis):
    """The same update, shifted by the current potentials instead of a max pass.

    log P = (U + f + g) / eps is bounded above once the potentials come from an update
    (rows sum to a_i, columns to b_j), so exp never overflows and the sum needs no max:
    one pass over N x M instead of two. The potential of `axis` (0: g, 1: f) moves by
    eps (log marginal - log of the current sums); an underflowed sum (< 1e-38) moves it by a
    bounded step of at most 87 eps instead of infinity.
    """
    total = jnp.sum(jnp.exp((utility + f[:, None] + g[None, :]) * (1.0 / eps)), axis=axis)
    old = g if axis == 0 else f
    new = old + eps * (log_marginal - jnp.log(jnp.maximum(total, _SUM_FLOOR)))
    return jnp.where(mask, new, _NEG)


def _epsilon_at(iteration, epsilon, epsilon_start, epsilon_decay):
    """eps_k = max(eps, eps_start * decay^k): annealing warm-starts the potentials."""
    if epsilon_start is None:
        return jnp.asarray(epsilon, jnp.float32)
    annealed = epsilon_start * jnp.power(epsilon_decay, iteration.astype(jnp.float32))
    return jnp.maximum(epsilon, annealed)


def _iterate(state, utility, log_a, log_b, agent_mask, task_mask, schedule, shifted=True):
    """One Sinkhorn iteration (task update, then agent update) and the error it measures.

    The column error of the incoming state is free: with rows exact, column sums of the
    incoming plan are b_j * exp((g_old - g_new) / eps). `shifted=False` (the first
    iteration, from unbalanced zero potentials) uses the max-shifted log-sum-exp.
    """
    eps = _epsilon_at(state.iteration, *schedule)
    if shifted:
        g_new = _shifted_update(utility, state.f, state.g, log_b, task_mask, eps, axis=0)
        f_new = _shifted_update(utility, state.f, g_new, log_a, agent_mask, eps, axis=1)
    else:
        g_new = _task_update(utility, state.f, log_b, task_mask, eps)
        f_new = _agent_update(utility, g_new, log_a, agent_mask, eps)
    ratio = jnp.exp(jnp.clip((state.g - g_new) / eps, -30.0, 30.0))
    b = jnp.where(task_mask, jnp.exp(log_b), 0.0)
    error = jnp.sum(b * jnp.abs(ratio - 1.0)) / jnp.maximum(jnp.sum(b), 1.0)
    return _Potentials(f_new, g_new, error, state.iteration + 1)


def _initial_potentials(agent_mask, task_mask):
    """Zero potentials on active entries; masked ones start (and stay) at the finite log(0)."""
    f = jnp.where(agent_mask, 0.0, _NEG)
    g = jnp.where(task_mask, 0.0, _NEG)
    return _Potentials(f, g, jnp.asarray(jnp.inf), jnp.asarray(0))


def _annealed(iteration, schedule):
    """True while eps_k is still above the target (no early stop during annealing)."""
    epsilon, epsilon_start, epsilon_decay = schedule
    return _epsilon_at(iteration, epsilon, epsilon_start, epsilon_decay) > epsilon


def _solve_while(utility, log_a, log_b, agent_mask, task_mask, config):
    """Forward fixed point with early stopping (not reverse-differentiable on its own)."""
    num_iterations, threshold, schedule = config[:3]
    init = _initial_potentials(agent_mask, task_mask)
    init = _iterate(init, utility, log_a, log_b, agent_mask, task_mask, schedule, shifted=False)

    def _continue(state):
        not_converged = (state.error > threshold) | _annealed(state.iteration - 1, schedule)
        return (state.iteration < num_iterations) & ((state.iteration < 2) | not_converged)

    def _body(state):
        return _iterate(state, utility, log_a, log_b, agent_mask, task_mask, schedule)

    return jax.lax.while_loop(_continue, _body, init)


def _solve_unrolled(utility, log_a, log_b, agent_mask, task_mask, config):
    """Fixed-length scan, each step checkpointed; converged states are frozen, not updated."""
    num_iterations, threshold, schedule = config
    init = _initial_potentials(agent_mask, task_mask)
    init = _iterate(init, utility, log_a, log_b, agent_mask, task_mask, schedule, shifted=False)

    @jax.checkpoint
    def _body(state, _):
        """Carries the potentials; stacks nothing."""
        stepped = _iterate(state, utility, log_a, log_b, agent_mask, task_mask, schedule)
        converged = (
            (state.iteration >= 2)
            & (stepped.error <= threshold)
            & ~_annealed(state.iteration - 1, schedule)
        )
        frozen = state._replace(error=stepped.error)
        return jax.tree.map(lambda old, new: jnp.where(converged, old, new), frozen, stepped), None

    final, _ = jax.lax.scan(_body, init, None, length=num_iterations - 1)
    return final


def _plan(utility, f, g, agent_mask, task_mask, eps):
    """P = exp((U + f + g) / eps) on active pairs, exactly 0 elsewhere."""
    active = agent_mask[:, None] & task_mask[None, :]
    exponent = jnp.where(active, (utility + f[:, None] + g[None, :]) * (1.0 / eps), _NEG)
    return jnp.where(active, jnp.exp(exponent), 0.0)


def _plan_and_iterations(utility, log_a, log_b, agent_mask, task_mask, config):
    state = _solve_while(utility, log_a, log_b, agent_mask, task_mask, config)
    eps = config[2][0]
    return _plan(utility, state.f, state.g, agent_mask, task_mask, eps), state.iteration


_implicit_plan = jax.custom_vjp(_plan_and_iterations, nondiff_argnums=(5,))


def _implicit_fwd(utility, log_a, log_b, agent_mask, task_mask, config):
    plan, iterations = _plan_and_iterations(utility, log_a, log_b, agent_mask, task_mask, config)
    return (plan, iterations), (plan, log_a, log_b, agent_mask, task_mask)


def _implicit_bwd(config, residuals, cotangents):
    """VJP of the fixed point: linearise P 1 = a, P^T 1 = b and solve for the potentials.

    With GP = G * P, r = GP 1, c = GP^T 1, solve [[diag a, P], [P^T, diag b]] [w; z] = [r; c]
    through its Schur complement (diag b - P^T diag(1/a) P) z = c - P^T (r / a), whose null
    vector 1 is removed by adding 1 1^T / M. Then dU = (GP - P * (w_i + z_j)) / eps.
    """
    plan, log_a, log_b, agent_mask, task_mask = residuals
    grad_plan = cotangents[0]
    eps = config[2][0]
    a = jnp.where(agent_mask, jnp.exp(log_a), 1.0)
    b = jnp.where(task_mask, jnp.exp(log_b), 0.0)
    weighted = grad_plan * plan
    row = jnp.sum(weighted, axis=1)
    col = jnp.sum(weighted, axis=0)
    num_tasks = jnp.maximum(jnp.sum(task_mask), 1)

    def _schur(z):
        z = jnp.where(task_mask, z, 0.0)
        product = b * z - plan.T @ ((plan @ z) / a) + jnp.sum(z) / num_tasks
        return jnp.where(task_mask, product, z)

    rhs = jnp.where(task_mask, col - plan.T @ (row / a), 0.0)
    z, _ = cg(_schur, rhs, tol=1e-6, maxiter=config[3])
    w = jnp.where(agent_mask, (row - plan @ z) / a, 0.0)
    grad_logits = weighted - plan * (w[:, None] + z[None, :])
    grad_log_a = jnp.where(agent_mask, a * w, 0.0)
    grad_log_b = jnp.where(task_mask, b * z, 0.0)
    return grad_logits / eps, grad_log_a, grad_log_b, None, None


_implicit_plan.defvjp(_implicit_fwd, _implicit_bwd)


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
    differentiation: str = "implicit",
    epsilon_start: float | None = None,
    epsilon_decay: float = 0.9,
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
      threshold: stop once the column marginal error (relative) is <= threshold; 0 runs all.
      differentiation: "implicit" (fixed-point VJP, early stop saves compute) or "unroll"
        (backprop through every checkpointed iteration: exact for the truncated plan).
      epsilon_start: optional annealing start; eps_k = max(epsilon, start * decay^k).
      epsilon_decay: annealing factor per iteration, in (0, 1).
      implicit_max_cg: conjugate-gradient steps for the implicit VJP.

    Returns:
      SinkhornResult(plan f32[N, M], iterations i32[], marginal_error f32[]).
    """
    if epsilon_start is None:
        # fixed temperature: work in units of eps once (U / eps, eps = 1), so no iteration
        # rescales the N x M utilities; gradients reach U through this one product
        utility = utility * (1.0 / epsilon)
        epsilon = 1.0
    schedule = (epsilon, epsilon_start, epsilon_decay)
    if differentiation == "implicit":
        config = (num_iterations, threshold, schedule, implicit_max_cg)
        plan, iterations = _implicit_plan(utility, log_a, log_b, agent_mask, task_mask, config)
    else:
        state = _solve_unrolled(
            utility, log_a, log_b, agent_mask, task_mask, (num_iterations, threshold, schedule)
        )
        plan = _plan(utility, state.f, state.g, agent_mask, task_mask, epsilon)
        iterations = state.iteration
    return SinkhornResult(
        plan, iterations, _marginal_error(plan, log_a, log_b, agent_mask, task_mask)
    )


def _marginal_error(plan, log_a, log_b, agent_mask, task_mask):
    a = jnp.where(agent_mask, jnp.exp(log_a), 0.0)
    b = jnp.where(task_mask, jnp.exp(log_b), 0.0)
    plan = jax.lax.stop_gradient(plan)
    total = jnp.sum(jnp.abs(plan.sum(axis=1) - a)) + jnp.sum(jnp.abs(plan.sum(axis=0) - b))
    return total / jnp.maximum(jnp.sum(a), _TINY)


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
    capacity = num_agents * weights / jnp.maximum(jnp.sum(weights), _TINY)
    log_a = jnp.zeros(agent_mask.shape)
    log_b = jnp.where(task_mask, jnp.log(jnp.maximum(capacity, _TINY)), 0.0)
    return log_a, log_b
