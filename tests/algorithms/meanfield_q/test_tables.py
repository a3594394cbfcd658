"""Mean-field tables checked by hand for k = 2, sizes, and agent conservation (paper)."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from marlax.algorithms.meanfield_q import builtin_config_dict, parse_config, tabulate_environment
from marlax.algorithms.meanfield_q.tables import (
    build_paper_tables,
    build_reference_tables,
    table_size,
)


@pytest.fixture(scope="module")
def env():
    return tabulate_environment(parse_config(builtin_config_dict()))


def test_builtin_functions_tabulated_by_hand(env):
    # r_l(s=-1, g=0, a=0) = max(0.1, 0 + 0.5 + 0.2 + 0.2); index order follows the spaces
    assert env.local_reward[0, 2, 1] == pytest.approx(0.9)
    assert env.local_reward[1, 2, 1] == pytest.approx(2.0)
    assert env.global_reward[2, 2] == pytest.approx(1.2)  # r_g(0, 0)
    assert env.global_reward[4, 0] == pytest.approx(1.1 + 0.2)  # r_g(2, -2)
    assert env.local_next[2, 4, 2].argmax() == 1  # clip(1 + 1 - 2) = 0
    assert env.global_next[4, 4].argmax() == 4  # clip(2 + 2) = 2
    assert env.local_deterministic and env.global_deterministic


@pytest.mark.parametrize("k", [2, 3, 4])
def test_reference_table_sizes(env, k):
    tables = build_reference_tables(env, k, 10, np.random.default_rng(0))
    states = 5 * comb(k + 2, 2)
    assert tables.reward.shape == (states, states)  # |A_g| C(k+2,2) actions as well
    assert tables.next_state.shape == (states, states, 1)  # deterministic: one sample
    assert table_size(k, env, "reference") == (states, states * states)


def test_reference_reward_and_transition_by_hand_k2(env):
    tables = build_reference_tables(env, 2, 10, np.random.default_rng(0))
    # state (g=0, c=[1,1,0]) = 2*6 + 1; action (a_g=0, d=[0,2,0]) = 2*6 + 3
    # R = r_g(0,0) + (1/2)(1) r_l(-1,0,0) + (1/2)(1) r_l(0,0,0) = 1.2 + 0.45 + 1.0
    assert tables.reward[13, 15] == pytest.approx(2.65)
    # both pairs move one agent: (-1,0)->-1 and (0,0)->0, so c' = [1,1,0]; g' = 0
    assert tables.next_state[13, 15, 0] == 13
    # action (a_g=1, d=[1,1,0]) = 3*6 + 1: four pairs move 4 agents to [3,1,0];
    # rescale by 2/4 and floor gives [1,0,0], the remainder goes to bucket 0: [2,0,0]
    # g' = clip(0 + 1) = 1, so the next state is 3*6 + 0
    assert tables.next_state[13, 19, 0] == 18
    # R there = r_g(0,1) + sum (1/2)(1/2) r_l over the four (state, action) pairs
    pairs = [env.local_reward[s, 2, a] for s in (0, 1) for a in (0, 1)]
    assert tables.reward[13, 19] == pytest.approx(1.1 + 0.25 * sum(pairs))
    # (g=2, c=[0,0,2]) with d=[0,0,2]: f_l(1, 2, 1) = 0 for both agents, g' = clip(2+a)
    state, action = 4 * 6 + 5, 2 * 6 + 5
    assert tables.next_state[state, action, 0] == 4 * 6 + 3


def test_paper_tables_by_hand_k2(env):
    tables = build_paper_tables(env, 2)
    assert len(tables.state_counts) == comb(4, 2)
    assert len(tables.pair_counts) == comb(10, 8)  # multisets of 2 among 9 (s, a) pairs
    matrix = np.zeros((3, 3), dtype=np.int32)
    matrix[0, 2] = 1  # the agent in -1 takes +1
    matrix[1, 1] = 1  # the agent in 0 takes 0
    p = int(np.nonzero((tables.pair_counts == matrix).all(axis=(1, 2)))[0][0])
    assert tables.group[p] == 1  # row sums [1, 1, 0]
    # R = r_g(0, 0) + (1/2)(r_l(-1, 0, 1) + r_l(0, 0, 0)) = 1.2 + (0.8 + 2.0) / 2
    assert tables.reward[2, p, 2] == pytest.approx(2.6)
    # f_l(-1, 0, 1) = 0 and f_l(0, 0, 0) = 0: both end in 0, c' = [0, 2, 0]
    np.testing.assert_array_equal(tables.state_counts[tables.next_rank[2, p]], [0, 2, 0])


@pytest.mark.parametrize("k", [2, 3])
def test_paper_moves_each_agent_by_its_own_pair_and_conserves_k(env, k):
    tables = build_paper_tables(env, k)
    num_pairs = tables.pair_counts.shape[1] * tables.pair_counts.shape[2]
    for p in range(0, len(tables.pair_counts), 7):
        counts = np.bincount(tables.agent_pairs[p], minlength=num_pairs)
        np.testing.assert_array_equal(counts, tables.pair_counts[p].ravel())
        np.testing.assert_array_equal(
            tables.pair_counts[p].sum(axis=1), tables.state_counts[tables.group[p]]
        )
        for g in range(5):
            moved = np.zeros(3, dtype=np.int64)
            for pair in tables.agent_pairs[p]:
                state, action = divmod(int(pair), 3)
                moved[env.local_next[state, g, action].argmax()] += 1
            assert moved.sum() == k
            np.testing.assert_array_equal(tables.state_counts[tables.next_rank[g, p]], moved)
    assert np.all(np.diff(tables.group) >= 0)


def test_reference_stochastic_draws_are_fixed_valid_and_seeded():
    from .helpers import STOCHASTIC_TRANSITION, small_config_dict

    raw = small_config_dict()
    raw["environment"]["functions"]["local_agent_transition"] = STOCHASTIC_TRANSITION
    env = tabulate_environment(parse_config(raw), seed=2)
    first = build_reference_tables(env, 2, 10, np.random.default_rng(4))
    second = build_reference_tables(env, 2, 10, np.random.default_rng(4))
    assert first.next_state.shape == (30, 30, 10)  # m draws per (state, action), kept fixed
    np.testing.assert_array_equal(first.next_state, second.next_state)
    assert first.next_state.min() >= 0 and first.next_state.max() < 30
    # g' is deterministic: every draw of (g=0, a_g=+1) lands in g' = 1 (states 18..23)
    assert np.all(first.next_state[12:18, 18:24] // 6 == 3)
    # the 20% noise makes some draws differ
    assert np.any(first.next_state.min(axis=-1) != first.next_state.max(axis=-1))
