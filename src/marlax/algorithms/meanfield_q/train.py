"""Synchronous value iteration over the mean-field tables, one jitted loop per k.

Both semantics start from Q = 0 and apply `training_steps` sweeps
    Q <- R + gamma * E[max_a' Q(s', a')],
with no Python loop over states or actions (shapes as in `tables.py`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.meanfield_q.budget import check_training, training_draws
from marlax.algorithms.meanfield_q.multisets import rank_counts, rank_table
from marlax.algorithms.meanfield_q.tables import PaperTables, ReferenceTables
from marlax.algorithms.meanfield_q.tabulate import EnvTables


def reference_value_iteration(
    reward: np.ndarray, next_state: np.ndarray, gamma: float, num_sweeps: int, num_samples: int
) -> np.ndarray:
    """Q <- R + gamma * mean_m max_a' Q(s'_m, a'), the published update, bit for bit.

    Runs in float32 numpy with the published order of operations (a float32 mean over the
    m samples, then R + gamma * mean), so Q matches the published numbers exactly. The
    Python loop runs over sweeps only; each sweep is one gather and one reduction.

    Args:
        reward: f32[G*S, C*D].
        next_state: i32[G*S, C*D, m'] fixed Monte Carlo next states; m' is 1 (deterministic
            transitions: the m samples coincide) or m.
        gamma: discount factor.
        num_sweeps: number of synchronous sweeps.
        num_samples: m.

    Returns:
        f32[G*S, C*D].
    """
    q = np.zeros_like(reward)
    repeats = num_samples // next_state.shape[-1]
    for _ in range(num_sweeps):
        successor_value = q.max(axis=1)[next_state]
        if repeats > 1:  # the published code averages m identical samples: same rounding
            successor_value = np.repeat(successor_value, repeats, axis=-1)
        q = reward + gamma * successor_value.mean(axis=-1)
    return q


def _state_values(q: jax.Array, group: jax.Array, num_counts: int) -> jax.Array:
    """V(g, c) = max over a_g and the M whose row sums are c: f32[G, P, C] -> f32[G, S]."""
    best = q.max(axis=-1).T  # [P, G]
    return jax.ops.segment_max(best, group, num_segments=num_counts, indices_are_sorted=True).T


def _sampled_next_values(
    key: jax.Array,
    value: jax.Array,
    agent_pairs: jax.Array,
    local_cdf: jax.Array,
    ranks: jax.Array,
    num_samples: int,
) -> jax.Array:
    """mean_m V(g', c'_m) with each agent moved by its own (state, action), fresh draws.

    Args:
        value: f32[G', S].
        agent_pairs: i32[P, k].
        local_cdf: f32[G, B*A, B-1] cumulative P_l(. | S_i, g, A_j) without its last entry.
        ranks: i64[B, k+1, k+1] rank table.

    Returns:
        f32[G', G, P].
    """
    num_local = local_cdf.shape[-1] + 1
    thresholds = local_cdf[:, agent_pairs]  # [G, P, k, B-1]

    def _draw(index, total):
        """Carries the running sum f32[G', G, P]."""
        uniform = jax.random.uniform(jax.random.fold_in(key, index), thresholds.shape[:-1])
        successor = (uniform[..., None] >= thresholds).sum(axis=-1)  # [G, P, k]
        counts = jnp.stack([(successor == b).sum(axis=-1) for b in range(num_local)], axis=-1)
        return total + value[:, rank_counts(counts, ranks)]

    shape = (value.shape[0], *thresholds.shape[:2])
    return jax.lax.fori_loop(0, num_samples, _draw, jnp.zeros(shape, value.dtype)) / num_samples


@functools.partial(
    jax.jit,
    static_argnames=(
        "num_counts",
        "num_sweeps",
        "num_samples",
        "stochastic",
        "global_deterministic",
    ),
)
def paper_value_iteration(
    key: jax.Array,
    reward: jax.Array,
    next_rank: jax.Array,
    group: jax.Array,
    global_next: jax.Array,
    agent_pairs: jax.Array,
    local_cdf: jax.Array,
    ranks: jax.Array,
    gamma: float,
    num_counts: int,
    num_sweeps: int,
    num_samples: int,
    stochastic: bool,
    global_deterministic: bool = False,
) -> jax.Array:
    """SUBSAMPLE-MFQ value iteration over (g, c) x (a_g, M).

    Q(g, M, a) <- R(g, M, a) + gamma * sum_g' P_g(g'|g, a) E_c'[V(g', c')], where c' moves
    each agent by its own (state, action); exact when local moves are deterministic,
    otherwise `num_samples` fresh per-agent draws each sweep.

    Returns:
        f32[G, P, C].
    """

    def _sweep(index, q):
        """Carries Q f32[G, P, C]."""
        value = _state_values(q, group, num_counts)  # [G', S]
        if stochastic:
            sweep_key = jax.random.fold_in(key, index)
            expected = _sampled_next_values(
                sweep_key, value, agent_pairs, local_cdf, ranks, num_samples
            )
        elif global_deterministic:  # one gather: V(f_g(g, a), c'(g, M))
            successor = global_next.argmax(axis=-1)  # [G, C]
            return reward + gamma * value[successor[:, None, :], next_rank[:, :, None]]
        else:
            expected = value[:, next_rank]  # [G', G, P]
        return reward + gamma * jnp.einsum("hgp,gah->gpa", expected, global_next)

    return jax.lax.fori_loop(0, num_sweeps, _sweep, jnp.zeros_like(reward))


def train_reference(
    tables: ReferenceTables, gamma: float, num_sweeps: int, num_samples: int
) -> np.ndarray:
    """Learn Q_k in reference semantics: f32[G*S, C*D].

    Raises:
        ConfigError: when entries x sweeps x samples exceeds `MAX_TRAINING_WORK`.
    """
    _, draws = training_draws("reference", num_samples, local_stochastic=True)
    check_training(tables.k, tables.reward.size, num_sweeps, draws)
    return reference_value_iteration(
        tables.reward, tables.next_state, gamma, num_sweeps, num_samples
    )


def train_paper(
    key: jax.Array,
    tables: PaperTables,
    env: EnvTables,
    gamma: float,
    num_sweeps: int,
    num_samples: int,
) -> np.ndarray:
    """Learn Q_k in paper semantics: f32[G, P, C].

    Raises:
        ConfigError: when entries x sweeps x draws exceeds `MAX_TRAINING_WORK`.
    """
    _, draws = training_draws("paper", num_samples, not env.local_deterministic)
    check_training(tables.k, tables.reward.size, num_sweeps, draws)
    num_local, num_global, num_actions = env.local_reward.shape
    # [B, G, A, B] -> [G, B*A, B-1]: cumulative successor probabilities per (state, action)
    cdf = np.cumsum(env.local_next, axis=-1)[..., :-1].transpose(1, 0, 2, 3)
    cdf = cdf.reshape(num_global, num_local * num_actions, num_local - 1)
    cdf = np.where(cdf > 1.0 - 1e-9, 1.0, cdf)  # uniforms lie in [0, 1): 1 is never crossed
    q = paper_value_iteration(
        key,
        jnp.asarray(tables.reward),
        jnp.asarray(tables.next_rank),
        jnp.asarray(tables.group),
        jnp.asarray(env.global_next, dtype=jnp.float32),
        jnp.asarray(tables.agent_pairs),
        jnp.asarray(cdf, dtype=jnp.float32),
        jnp.asarray(rank_table(num_local, tables.k)),
        gamma,
        num_counts=tables.num_states,
        num_sweeps=num_sweeps,
        num_samples=num_samples,
        stochastic=not env.local_deterministic,
        global_deterministic=env.global_deterministic,
    )
    return np.asarray(q)
