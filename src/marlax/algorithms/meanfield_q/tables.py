"""Mean-field reward and transition tables for one k, in both semantics, as array programs.

Shapes: B local states, A local actions, G global states, C global actions,
S = C(k+B-1, B-1) count vectors over local states (so G*S mean-field states),
D = C(k+A-1, A-1) count vectors over local actions, P = C(k+BA-1, BA-1) state-action
count matrices M, m Monte Carlo samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlax.algorithms.meanfield_q.budget import SpaceSizes, check_tables
from marlax.algorithms.meanfield_q.budget import table_size as _table_size
from marlax.algorithms.meanfield_q.multisets import (
    enumerate_counts,
    rank_counts,
    rank_table,
)
from marlax.algorithms.meanfield_q.tabulate import EnvTables


@dataclass(frozen=True)
class ReferenceTables:
    """Tables of the published implementation: action (a_g, d), d the local-action counts.

    State index g*S + rank(c); action index a*D + rank(d).
    """

    k: int
    state_counts: np.ndarray
    """i32[S, B]: count vectors c, in itertools order."""
    action_counts: np.ndarray
    """i32[D, A]: count vectors d."""
    reward: np.ndarray
    """f32[G*S, C*D]: r_g(g, a) + sum_ij (c_i/k)(d_j/k) r_l(S_i, g, A_j)."""
    next_state: np.ndarray
    """i32[G*S, C*D, m']: sampled next-state indices, m' = 1 when transitions are deterministic."""


@dataclass(frozen=True)
class PaperTables:
    """Tables of the paper's SUBSAMPLE-MFQ: action (a_g, M), M pairs states with actions.

    M is sorted by its row sums c, so the actions of state (g, c) are the contiguous
    M with `group == rank(c)`, times every a_g.
    """

    k: int
    state_counts: np.ndarray
    """i32[S, B]."""
    pair_counts: np.ndarray
    """i32[P, B, A]: count matrices M, grouped by row sums."""
    group: np.ndarray
    """i32[P]: rank of each M's row sums c (non-decreasing)."""
    reward: np.ndarray
    """f32[G, P, C]: r_g(g, a) + (1/k) sum_ij M_ij r_l(S_i, g, A_j)."""
    next_rank: np.ndarray
    """i32[G, P]: rank of the next counts c' (deterministic local transitions; else unused)."""
    agent_pairs: np.ndarray
    """i32[P, k]: flat (state, action) pair of each of the k agents, for stochastic moves."""

    @property
    def num_states(self) -> int:
        return len(self.state_counts)


def env_sizes(env: EnvTables) -> SpaceSizes:
    """The space sizes of a tabulated environment."""
    num_local, num_global, num_actions = env.local_reward.shape
    return SpaceSizes(num_local, num_actions, num_global, env.global_reward.shape[1])


def table_size(k: int, env: EnvTables, semantics: str) -> tuple[int, int]:
    """(number of mean-field states, number of state-action entries) for one k."""
    return _table_size(k, env_sizes(env), semantics)


def _sample_index(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per leading index: probabilities f64[..., K] -> i64[...]."""
    cdf = np.cumsum(probabilities, axis=-1)[..., :-1]
    uniform = rng.random(probabilities.shape[:-1])
    # rounding can leave cdf just under 1: never land on a trailing zero-probability entry
    last = probabilities.shape[-1] - 1 - np.argmax(probabilities[..., ::-1] > 0, axis=-1)
    return np.minimum((uniform[..., None] >= cdf).sum(axis=-1), last)


def _rescale(next_counts: np.ndarray, k: int) -> np.ndarray:
    """The published repair: scale to total k by k/total, floor, remainder to bucket 0."""
    total = next_counts.sum(axis=-1, keepdims=True)
    scale = k / np.maximum(total, 1)
    scaled = np.floor(next_counts * scale).astype(np.int64)
    scaled[..., :1] += k - scaled.sum(axis=-1, keepdims=True)
    return np.where(total == k, next_counts, scaled)


def build_reference_tables(
    env: EnvTables, k: int, samples: int, rng: np.random.Generator
) -> ReferenceTables:
    """Reference-semantics tables for one k; Monte Carlo draws are made here, once."""
    num_local, num_global, num_actions = env.local_reward.shape
    num_global_actions = env.global_reward.shape[1]
    # the sweep averages `samples` next states per entry, stored or repeated
    check_tables(k, table_size(k, env, "reference")[1], samples)
    c = enumerate_counts(num_local, k)
    d = enumerate_counts(num_actions, k)
    S, D = len(c), len(d)
    local_mean = np.einsum("xi,igj,yj->gxy", c / k, env.local_reward, d / k)  # [G, S, D]
    reward = env.global_reward[:, None, :, None] + local_mean[:, :, None, :]  # [G, S, C, D]
    mass = np.minimum(c[:, None, :, None], d[None, :, None, :])  # [S, D, B, A]
    deterministic = env.local_deterministic and env.global_deterministic
    draws = 1 if deterministic else samples
    if env.local_deterministic:
        onehot = (env.local_next == 1.0).astype(np.int64)  # [B, G, A, B']
        raw = np.einsum("xyij,igjb->gxyb", mass, onehot)[:, :, None, :, None, :]
    else:
        raw = np.zeros((num_global, S, num_global_actions, D, draws, num_local), np.int64)
        for g in range(num_global):  # chunked over g only to bound memory
            probabilities = np.broadcast_to(
                env.local_next[:, g][None, None, None, :, :, :],
                (S, num_global_actions, D, draws, num_local, num_actions, num_local),
            )
            successor = _sample_index(rng, probabilities)  # [S, C, D, m, B, A]
            onehot = np.eye(num_local, dtype=np.int64)[successor]
            raw[g] = np.einsum("xyij,xaymijb->xaymb", mass, onehot)
    next_counts = _rescale(raw, k)
    next_rank = rank_counts(next_counts, rank_table(num_local, k))  # [G, S, C|1, D, m|1]
    if env.global_deterministic:
        next_global = env.global_next.argmax(axis=-1)[:, None, :, None, None]  # [G, 1, C, 1, 1]
    else:
        shape = (num_global, S, num_global_actions, D, draws, num_global)
        probabilities = np.broadcast_to(env.global_next[:, None, :, None, None, :], shape)
        next_global = _sample_index(rng, probabilities)
    next_state = next_global * S + next_rank
    next_state = np.broadcast_to(next_state, (num_global, S, num_global_actions, D, draws))
    return ReferenceTables(
        k=k,
        state_counts=c,
        action_counts=d,
        reward=reward.reshape(num_global * S, num_global_actions * D).astype(np.float32),
        next_state=next_state.reshape(num_global * S, num_global_actions * D, draws).astype(
            np.int32
        ),
    )


def build_paper_tables(env: EnvTables, k: int) -> PaperTables:
    """Paper-semantics tables for one k (exact; stochastic moves are sampled during training)."""
    num_local, num_global, num_actions = env.local_reward.shape
    check_tables(k, table_size(k, env, "paper")[1], 1)
    c = enumerate_counts(num_local, k)
    pairs = enumerate_counts(num_local * num_actions, k).reshape(-1, num_local, num_actions)
    ranks = rank_table(num_local, k)
    group = rank_counts(pairs.sum(axis=-1), ranks)
    order = np.argsort(group, kind="stable")
    pairs, group = pairs[order], group[order]
    local_mean = np.einsum("pij,igj->gp", pairs, env.local_reward) / k  # [G, P]
    reward = env.global_reward[:, None, :] + local_mean[:, :, None]  # [G, P, C]
    successor = env.local_next.argmax(axis=-1)  # [B, G, A]; exact when deterministic
    onehot = np.eye(num_local, dtype=np.int64)[successor]  # [B, G, A, B']
    next_counts = np.einsum("pij,igjb->gpb", pairs, onehot)
    flat = pairs.reshape(len(pairs), -1)
    agent_pairs = np.repeat(np.tile(np.arange(flat.shape[1]), len(flat)), flat.ravel())
    return PaperTables(
        k=k,
        state_counts=c,
        pair_counts=pairs.astype(np.int32),
        group=group.astype(np.int32),
        reward=reward.astype(np.float32),
        next_rank=rank_counts(next_counts, ranks).astype(np.int32),
        agent_pairs=agent_pairs.reshape(len(flat), k).astype(np.int32),
    )
