"""Deploy a learned Q_k on the full population of n local agents, vectorised over agents and runs.

Each step every local agent samples k-1 distinct others, forms the counts c of their local
states and its own, and acts from Q_k at (s_g, c); the global agent samples k locals. The
step reward is r_g(s_g, a_g) + (1/n) sum_i r_l(s_i, s_g, a_i), then s_g <- f_g(s_g, a_g)
and s_i <- f_l(s_i, old s_g, a_i); the return is sum_t gamma^t r_t. Stochastic functions
are sampled from their tabulated distributions. Shapes: N agents, R runs, T horizon, others
as in `tables.py`.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.algorithms.meanfield_q.budget import check_deployment
from marlax.algorithms.meanfield_q.constants import MAX_TIES, TIE_TOLERANCE
from marlax.algorithms.meanfield_q.multisets import num_multisets, rank_counts, rank_table
from marlax.algorithms.meanfield_q.tables import PaperTables, ReferenceTables
from marlax.algorithms.meanfield_q.tabulate import EnvTables


@struct.dataclass
class EnvArrays:
    """The tabulated environment on device."""

    local_reward: jax.Array  # f32[B, G, A]
    global_reward: jax.Array  # f32[G, C]
    local_cdf: jax.Array  # f32[B, G, A, B-1] cumulative P_l without its last entry
    global_cdf: jax.Array  # f32[G, C, G-1]


@struct.dataclass
class Subsample:
    """The subsample size as data, so one compiled deployment serves every k."""

    k: jax.Array  # i32[]
    num_counts: jax.Array  # i32[] S = C(k+B-1, B-1)
    ranks: jax.Array  # i32[B, K+1, K+1] rank table for the largest k, K


@struct.dataclass
class ReferencePolicy:
    """Published greedy rule: first maximal action; locals take its most common action."""

    local_action: jax.Array  # i32[G*S]
    global_action: jax.Array  # i32[G*S]


@struct.dataclass
class PaperPolicy:
    """Maximal (M, a_g) per state, ties kept; a local takes an action paired with its state."""

    ties: jax.Array  # i32[G*S, MAX_TIES] flat p*C + a of tied maximal actions (padded)
    num_ties: jax.Array  # i32[G*S]
    pair_counts: jax.Array  # i32[P, B, A]
    num_global_actions: int = struct.field(pytree_node=False)


@struct.dataclass
class DeployState:
    """One deployment run."""

    global_state: jax.Array  # i32[]
    local_states: jax.Array  # i32[N]
    total: jax.Array  # f32[] discounted return so far
    discount: jax.Array  # f32[] gamma^t


def _cdf(probabilities: np.ndarray) -> jax.Array:
    """Cumulative probabilities f64[..., K] -> f32[..., K-1] without the last entry.

    Entries within 1e-9 of 1 become exactly 1: uniforms lie in [0, 1), so a draw never
    crosses them onto a trailing zero-probability state.
    """
    cdf = np.cumsum(probabilities, axis=-1)[..., :-1]
    return jnp.asarray(np.where(cdf > 1.0 - 1e-9, 1.0, cdf), dtype=jnp.float32)


def env_arrays(env: EnvTables) -> EnvArrays:
    """Move the tabulated environment to device."""
    return EnvArrays(
        local_reward=jnp.asarray(env.local_reward, dtype=jnp.float32),
        global_reward=jnp.asarray(env.global_reward, dtype=jnp.float32),
        local_cdf=_cdf(env.local_next),
        global_cdf=_cdf(env.global_next),
    )


def subsample(k: int, num_local: int, max_k: int) -> Subsample:
    """The Subsample of size k for B = num_local local states, ranks built for max_k."""
    return Subsample(
        k=jnp.asarray(k, jnp.int32),
        num_counts=jnp.asarray(num_multisets(num_local, k), jnp.int32),
        ranks=jnp.asarray(rank_table(num_local, max_k), dtype=jnp.int32),
    )


def pad_policy(policy, num_states: int, num_pairs: int = 0):
    """Pad a policy's per-state arrays to `num_states` rows (and pair counts to `num_pairs`).

    Padding keeps shapes equal across k, so `deploy` compiles once per (n, horizon, runs).
    """

    def _pad(array: jax.Array, rows: int) -> jax.Array:
        widths = [(0, max(rows - array.shape[0], 0))] + [(0, 0)] * (array.ndim - 1)
        return jnp.pad(array, widths)

    if isinstance(policy, ReferencePolicy):
        return ReferencePolicy(
            local_action=_pad(policy.local_action, num_states),
            global_action=_pad(policy.global_action, num_states),
        )
    return PaperPolicy(
        ties=_pad(policy.ties, num_states),
        num_ties=_pad(policy.num_ties, num_states),
        pair_counts=_pad(policy.pair_counts, num_pairs),
        num_global_actions=policy.num_global_actions,
    )


def reference_policy(q: np.ndarray, tables: ReferenceTables) -> ReferencePolicy:
    """Greedy tables from a reference Q f32[G*S, C*D]."""
    best = q.argmax(axis=1)
    num_d = len(tables.action_counts)
    return ReferencePolicy(
        local_action=jnp.asarray(tables.action_counts[best % num_d].argmax(axis=-1), jnp.int32),
        global_action=jnp.asarray(best // num_d, jnp.int32),
    )


def paper_policy(q: np.ndarray, tables: PaperTables) -> PaperPolicy:
    """Tied maximal actions per state from a paper Q f32[G, P, C] (at most MAX_TIES kept)."""
    num_global, _, num_global_actions = q.shape
    num_counts = tables.num_states
    best = np.full((num_global, num_counts), -np.inf, dtype=np.float32)
    np.maximum.at(best, (slice(None), tables.group), q.max(axis=-1))
    per_entry = best[:, tables.group][..., None]  # [G, P, 1]
    tied = q >= per_entry - TIE_TOLERANCE * (1.0 + np.abs(per_entry))
    g_index, p_index, a_index = np.nonzero(tied)  # sorted by g, then p (so by state), then a
    state = g_index * num_counts + tables.group[p_index]
    first = np.searchsorted(state, state, side="left")
    slot = np.arange(len(state)) - first
    keep = slot < MAX_TIES
    ties = np.zeros((num_global * num_counts, MAX_TIES), dtype=np.int32)
    ties[state[keep], slot[keep]] = p_index[keep] * num_global_actions + a_index[keep]
    num_ties = np.minimum(np.bincount(state, minlength=num_global * num_counts), MAX_TIES)
    return PaperPolicy(
        ties=jnp.asarray(ties),
        num_ties=jnp.asarray(num_ties, dtype=jnp.int32),
        pair_counts=jnp.asarray(tables.pair_counts),
        num_global_actions=num_global_actions,
    )


def sample_subsets(
    uniform: jax.Array, population: int | jax.Array, size: int | jax.Array
) -> jax.Array:
    """Uniform random `size`-subsets of range(population), Floyd's algorithm, per batch row.

    `size` may be traced (at most `max_size`), so one compiled program serves every k.

    Args:
        uniform: f32[max_size, batch] uniforms in [0, 1), one per slot and row.

    Returns:
        i32[batch, max_size]: distinct picks in the first `size` columns, -1 after them.
    """
    max_size, batch = uniform.shape

    def _body(slot, chosen):
        """Carries the picks i32[batch, max_size]; slot draws from 0..population-size+slot."""
        top = population - size + slot
        draw = jnp.minimum(jnp.floor(uniform[slot] * (top + 1)), top).astype(jnp.int32)
        seen = (chosen == draw[:, None]).any(axis=-1)
        pick = jnp.where(slot < size, jnp.where(seen, top, draw), -1)
        return chosen.at[:, slot].set(pick)

    initial = jnp.full((batch, max_size), -1, dtype=jnp.int32)
    return jax.lax.fori_loop(0, max_size, _body, initial)


def _below(uniform: jax.Array, bound: jax.Array) -> jax.Array:
    """Uniform integers in [0, bound) from uniforms in [0, 1): i32 like `uniform`."""
    return jnp.minimum(jnp.floor(uniform * bound), bound - 1).astype(jnp.int32)


def _sample(uniform: jax.Array, cdf: jax.Array) -> jax.Array:
    """Inverse-CDF draw: uniform f32[...], cdf f32[..., K-1] -> i32[...]."""
    return (uniform[..., None] >= cdf).sum(axis=-1).astype(jnp.int32)


def _counts(states: jax.Array, picks: jax.Array, num_local: int) -> jax.Array:
    """Counts over local states of the picked agents (-1 = no pick): i32[..., B]."""
    onehot = jax.nn.one_hot(states[jnp.maximum(picks, 0)], num_local, dtype=jnp.int32)
    return (onehot * (picks >= 0)[..., None]).sum(axis=-2)


def _state_index(global_state, counts, sub: Subsample) -> jax.Array:
    rank = rank_counts(counts, sub.ranks, sub.k).astype(jnp.int32)
    return global_state * sub.num_counts + rank


def _pick_tie(uniform: jax.Array, policy: PaperPolicy, state: jax.Array) -> jax.Array:
    return policy.ties[state, _below(uniform, policy.num_ties[state])]


def _local_actions(uniform, policy, state, local_states) -> jax.Array:
    """Each agent's action from the greedy action of its own subsample: i32[N].

    uniform: f32[2, N] (tie choice, pairing choice).
    """
    if isinstance(policy, ReferencePolicy):
        return policy.local_action[state]
    flat = _pick_tie(uniform[0], policy, state)
    row = policy.pair_counts[flat // policy.num_global_actions, local_states]  # [N, A]
    # the agent is one of the c_i agents in its state: an action with probability M_ij / c_i
    cumulative = jnp.cumsum(row, axis=-1)
    draw = _below(uniform[1], cumulative[:, -1])
    return (draw[:, None] >= cumulative).sum(axis=-1).astype(jnp.int32)


def _global_action(uniform, policy, state) -> jax.Array:
    if isinstance(policy, ReferencePolicy):
        return policy.global_action[state]
    return _pick_tie(uniform, policy, state) % policy.num_global_actions


def _step(key, carry: DeployState, env: EnvArrays, policy, sub: Subsample, gamma):
    """One population step; returns the carry and the cumulative return f32[]."""
    num_agents = carry.local_states.shape[0]
    num_local = env.local_reward.shape[0]
    max_k = sub.ranks.shape[1] - 1
    # two draws per step (one per agent row, one for the global agent) keep the
    # compiled program small: rows are Floyd slots, then transition, tie, pairing
    local_key, global_key = jax.random.split(key)
    uniform = jax.random.uniform(local_key, (max_k + 2, num_agents))
    global_uniform = jax.random.uniform(global_key, (max_k + 2,))
    others = sample_subsets(uniform[: max_k - 1], num_agents - 1, sub.k - 1)
    agents = jnp.arange(num_agents, dtype=jnp.int32)[:, None]
    others = jnp.where(others >= agents, others + 1, others)  # skip the agent itself
    counts = _counts(carry.local_states, others, num_local)
    counts = counts + jax.nn.one_hot(carry.local_states, num_local, dtype=jnp.int32)
    own_index = _state_index(carry.global_state, counts, sub)
    actions = _local_actions(uniform[max_k:], policy, own_index, carry.local_states)
    sampled = sample_subsets(global_uniform[:max_k, None], num_agents, sub.k)[0]
    global_counts = _counts(carry.local_states, sampled, num_local)
    global_index = _state_index(carry.global_state, global_counts, sub)
    global_action = _global_action(global_uniform[max_k], policy, global_index)
    g = carry.global_state
    local_reward = env.local_reward[carry.local_states, g, actions].mean()
    total = carry.total + carry.discount * (env.global_reward[g, global_action] + local_reward)
    next_state = DeployState(
        global_state=_sample(global_uniform[max_k + 1], env.global_cdf[g, global_action]),
        local_states=_sample(uniform[max_k - 1], env.local_cdf[carry.local_states, g, actions]),
        total=total,
        discount=carry.discount * gamma,
    )
    return next_state, total


def _run(key, env: EnvArrays, policy, sub: Subsample, num_agents: int, horizon: int, gamma):
    """One deployment run: f32[T] cumulative discounted return after each step."""
    init_key, scan_key = jax.random.split(key)
    global_key, local_key = jax.random.split(init_key)
    num_global, num_local = env.global_reward.shape[0], env.local_reward.shape[0]
    state = DeployState(
        global_state=jax.random.randint(global_key, (), 0, num_global, dtype=jnp.int32),
        local_states=jax.random.randint(local_key, (num_agents,), 0, num_local, dtype=jnp.int32),
        total=jnp.zeros((), jnp.float32),
        discount=jnp.ones((), jnp.float32),
    )

    def _body(carry, step_key):
        """Carries the DeployState; stacks the cumulative return f32[]."""
        return _step(step_key, carry, env, policy, sub, gamma)

    _, totals = jax.lax.scan(_body, state, jax.random.split(scan_key, horizon))
    return totals


@functools.partial(jax.jit, static_argnames=("num_agents", "horizon", "num_runs"))
def _deploy(
    key: jax.Array,
    env: EnvArrays,
    policy: ReferencePolicy | PaperPolicy,
    sub: Subsample,
    gamma: float,
    num_agents: int,
    horizon: int,
    num_runs: int,
) -> jax.Array:
    """`deploy` after its size check: f32[R, T]."""
    run = functools.partial(
        _run, env=env, policy=policy, sub=sub, num_agents=num_agents, horizon=horizon, gamma=gamma
    )
    return jax.vmap(run, in_axes=0)(jax.random.split(key, num_runs))


def deploy(
    key: jax.Array,
    env: EnvArrays,
    policy: ReferencePolicy | PaperPolicy,
    sub: Subsample,
    gamma: float,
    num_agents: int,
    horizon: int,
    num_runs: int,
) -> jax.Array:
    """Deploy on n agents for `horizon` steps, `num_runs` independent runs.

    Args:
        key: PRNG key.
        env: tabulated environment.
        policy: from `reference_policy` / `paper_policy` (optionally `pad_policy`).
        sub: subsample size k (traced, so k can change without recompiling).
        gamma: discount factor.
        num_agents: n >= k.
        horizon: T, steps per run.
        num_runs: R, independent runs.

    Returns:
        f32[R, T]: cumulative discounted return after each step of each run.

    Raises:
        ConfigError: when R x T x n x k draws or the per-step arrays exceed their caps
            (k counts as the largest k the rank table serves: the program's size).
    """
    max_k = sub.ranks.shape[1] - 1
    check_deployment(max_k, num_agents, horizon, num_runs, env.local_reward.shape[0])
    return _deploy(
        key,
        env,
        policy,
        sub,
        gamma,
        num_agents=num_agents,
        horizon=horizon,
        num_runs=num_runs,
    )
