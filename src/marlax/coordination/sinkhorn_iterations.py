"""Log-domain Sinkhorn iterations for one example: settings, updates, the two loops, the plan.

With dual potentials f, g (utility units) the plan is  P_ij = exp((U_ij + f_i + g_j) / eps)
and one iteration is a task update then an agent update:

    g_j = eps * log b_j - eps * LSE_i((U_ij + f_i) / eps)
    f_i = eps * log a_i - eps * LSE_j((U_ij + g_j) / eps)

(Cuturi 2013, log-domain form of Peyre & Cuturi 2019, eq. 4.43). `solve_while` (early stop,
forward only) and `solve_unrolled` (fixed-length scan, reverse-differentiable) stop under the
same rule, so they return the same potentials.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

# Finite stand-in for log(0): keeps every branch of `jnp.where` finite, so no 0 * inf in grads.
NEG = -1e30
TINY = 1e-30
_SUM_FLOOR = TINY  # 1e-38 would be a float32 subnormal: XLA:CPU flushes it to 0 (NaN grads)


class SinkhornSettings(NamedTuple):
    """Static settings of one solve (hashable, so a valid `nondiff_argnums` argument)."""

    num_iterations: int
    """Maximum iterations (each = one task and one agent update)."""
    threshold: float
    """Stop once the relative column error is <= threshold (see `log_sinkhorn`)."""
    epsilon: float
    """Target temperature, in the units the utilities are given in."""
    epsilon_start: float | None
    """Annealing start (eps_k = max(epsilon, start * decay^k)); None for a fixed temperature."""
    epsilon_decay: float
    """Annealing factor per iteration, in (0, 1)."""
    differentiation: str
    """"auto", "implicit" or "unroll" (see `log_sinkhorn`)."""
    implicit_tolerance: float
    """Largest marginal error at which "auto" uses the implicit rule."""
    implicit_max_cg: int
    """Conjugate-gradient steps of the implicit rule."""


class Potentials(NamedTuple):
    """Loop state of one solve."""

    f: jax.Array  # f32[N] agent potentials (utility units)
    g: jax.Array  # f32[M] task potentials (utility units)
    error: jax.Array  # f32[] column marginal error of (f, g_previous)
    iteration: jax.Array  # i32[] iterations done


def _task_update(utility, f, log_b, task_mask, eps):
    """g = eps log b - eps LSE_i((U + f) / eps); masked tasks get the finite log(0)."""
    # multiply by 1/eps: an elementwise divide costs several multiplies on CPU
    lse = jax.nn.logsumexp((utility + f[:, None]) * (1.0 / eps), axis=0)
    return jnp.where(task_mask, eps * (log_b - lse), NEG)


def _agent_update(utility, g, log_a, agent_mask, eps):
    """f = eps log a - eps LSE_j((U + g) / eps); masked agents get the finite log(0)."""
    lse = jax.nn.logsumexp((utility + g[None, :]) * (1.0 / eps), axis=1)
    return jnp.where(agent_mask, eps * (log_a - lse), NEG)


def _shifted_update(utility, f, g, log_marginal, mask, eps, axis):
    """The same update, shifted by the current potentials instead of a max pass.

    log P = (U + f + g) / eps is bounded above once the potentials come from an update
    (rows sum to a_i, columns to b_j), so exp never overflows and the sum needs no max:
    one pass over N x M instead of two. The potential of `axis` (0: g, 1: f) moves by
    eps (log marginal - log of the current sums); an underflowed sum (< 1e-30) moves it by a
    bounded step of at most ~69 eps instead of infinity.
    """
    total = jnp.sum(jnp.exp((utility + f[:, None] + g[None, :]) * (1.0 / eps)), axis=axis)
    old = g if axis == 0 else f
    new = old + eps * (log_marginal - jnp.log(jnp.maximum(total, _SUM_FLOOR)))
    return jnp.where(mask, new, NEG)


def epsilon_at(iteration: jax.Array, settings: SinkhornSettings) -> jax.Array:
    """f32[] eps_k = max(eps, eps_start * decay^k): annealing warm-starts the potentials."""
    if settings.epsilon_start is None:
        return jnp.asarray(settings.epsilon, jnp.float32)
    decayed = jnp.power(settings.epsilon_decay, iteration.astype(jnp.float32))
    return jnp.maximum(settings.epsilon, settings.epsilon_start * decayed)


def _iterate(state, utility, log_a, log_b, agent_mask, task_mask, settings, shifted=True):
    """One Sinkhorn iteration (task update, then agent update) and the error it measures.

    The column error of the incoming state is free: with rows exact, column sums of the
    incoming plan are b_j * exp((g_old - g_new) / eps). `shifted=False` (the first
    iteration, from unbalanced zero potentials) uses the max-shifted log-sum-exp.
    """
    eps = epsilon_at(state.iteration, settings)
    if shifted:
        g_new = _shifted_update(utility, state.f, state.g, log_b, task_mask, eps, axis=0)
        f_new = _shifted_update(utility, state.f, g_new, log_a, agent_mask, eps, axis=1)
    else:
        g_new = _task_update(utility, state.f, log_b, task_mask, eps)
        f_new = _agent_update(utility, g_new, log_a, agent_mask, eps)
    ratio = jnp.exp(jnp.clip((state.g - g_new) / eps, -30.0, 30.0))
    b = jnp.where(task_mask, jnp.exp(log_b), 0.0)
    error = jnp.sum(b * jnp.abs(ratio - 1.0)) / jnp.maximum(jnp.sum(b), 1.0)
    return Potentials(f_new, g_new, error, state.iteration + 1)


def _first_iteration(utility, log_a, log_b, agent_mask, task_mask, settings):
    """Zero potentials on active entries (masked ones stay at the finite log(0)), updated once."""
    f = jnp.where(agent_mask, 0.0, NEG)
    g = jnp.where(task_mask, 0.0, NEG)
    start = Potentials(f, g, jnp.asarray(jnp.inf), jnp.asarray(0))
    return _iterate(start, utility, log_a, log_b, agent_mask, task_mask, settings, shifted=False)


def _continues(state: Potentials, settings: SinkhornSettings) -> jax.Array:
    """bool[]: another iteration is due (below the cap and not converged, or still annealing)."""
    annealing = epsilon_at(state.iteration - 1, settings) > settings.epsilon
    not_converged = (state.error > settings.threshold) | annealing
    return (state.iteration < settings.num_iterations) & ((state.iteration < 2) | not_converged)


def solve_while(utility, log_a, log_b, agent_mask, task_mask, settings) -> Potentials:
    """Forward fixed point with early stopping (not reverse-differentiable on its own)."""
    first = _first_iteration(utility, log_a, log_b, agent_mask, task_mask, settings)

    def _body(state):
        return _iterate(state, utility, log_a, log_b, agent_mask, task_mask, settings)

    return jax.lax.while_loop(lambda state: _continues(state, settings), _body, first)


def solve_unrolled(utility, log_a, log_b, agent_mask, task_mask, settings) -> Potentials:
    """Fixed-length scan, each step checkpointed; where `solve_while` stops, the state freezes."""
    first = _first_iteration(utility, log_a, log_b, agent_mask, task_mask, settings)

    @jax.checkpoint
    def _body(state, _):
        """Carries the potentials; stacks nothing."""
        stepped = _iterate(state, utility, log_a, log_b, agent_mask, task_mask, settings)
        due = _continues(state, settings)
        return jax.tree.map(lambda new, old: jnp.where(due, new, old), stepped, state), None

    final, _ = jax.lax.scan(_body, first, None, length=settings.num_iterations - 1)
    return final


def plan_from_potentials(utility, f, g, agent_mask, task_mask, eps) -> jax.Array:
    """f32[N, M] P = exp((U + f + g) / eps) on active pairs, exactly 0 elsewhere."""
    active = agent_mask[:, None] & task_mask[None, :]
    exponent = jnp.where(active, (utility + f[:, None] + g[None, :]) * (1.0 / eps), NEG)
    return jnp.where(active, jnp.exp(exponent), 0.0)


def marginal_error(plan, log_a, log_b, agent_mask, task_mask) -> jax.Array:
    """f32[] (sum |P 1 - a| + sum |P^T 1 - b|) / sum(a), not differentiated."""
    a = jnp.where(agent_mask, jnp.exp(log_a), 0.0)
    b = jnp.where(task_mask, jnp.exp(log_b), 0.0)
    plan = jax.lax.stop_gradient(plan)
    total = jnp.sum(jnp.abs(plan.sum(axis=1) - a)) + jnp.sum(jnp.abs(plan.sum(axis=0) - b))
    return total / jnp.maximum(jnp.sum(a), TINY)
