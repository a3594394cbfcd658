"""Value iteration: published numbers, a loop re-implementation, and a brute-force paper check."""

from __future__ import annotations

import itertools

import jax
import numpy as np
import pytest

from marlax.algorithms.meanfield_q import (
    builtin_config_dict,
    parse_config,
    tabulate_environment,
    train_q,
)
from marlax.algorithms.meanfield_q.tables import build_paper_tables, build_reference_tables
from marlax.algorithms.meanfield_q.train import train_paper, train_reference

from .helpers import STOCHASTIC_TRANSITION, small_config_dict


@pytest.fixture(scope="module")
def config():
    return parse_config(builtin_config_dict())


@pytest.fixture(scope="module")
def env(config):
    return tabulate_environment(config)


@pytest.mark.parametrize("k", [2, 3, 5])
def test_reference_max_q_is_the_published_value(env, config, key, k):
    trained = train_q(key, env, config, k, "reference")
    assert f"{trained.q.max():.4f}" == "31.9992"


@pytest.mark.slow
def test_reference_max_q_for_every_k(env, config, key):
    for k in range(2, 15):
        assert f"{train_q(key, env, config, k, 'reference').q.max():.4f}" == "31.9992"


def _published_loop(env, k, samples, gamma, sweeps):
    """The published per-entry algorithm written as plain loops (states in itertools order)."""

    def counts(bins, total):
        return [
            tuple(np.bincount(c, minlength=bins))
            for c in itertools.combinations_with_replacement(range(bins), total)
        ]

    states = [(g, c) for g in range(5) for c in counts(3, k)]
    actions = [(a, d) for a in range(5) for d in counts(3, k)]
    index = {state: i for i, state in enumerate(states)}
    reward = np.zeros((len(states), len(actions)), np.float32)
    successors = {}
    for (i, (g, c)), (j, (a, d)) in itertools.product(enumerate(states), enumerate(actions)):
        local = sum(
            (c[s] / k) * (d[b] / k) * env.local_reward[s, g, b]
            for s in range(3)
            for b in range(3)
            if c[s] > 0 and d[b] > 0
        )
        reward[i, j] = env.global_reward[g, a] + local
        nxt = [0, 0, 0]
        for s, b in itertools.product(range(3), range(3)):
            if c[s] > 0 and d[b] > 0:
                nxt[int(env.local_next[s, g, b].argmax())] += min(c[s], d[b])
        total = sum(nxt)
        if total != k:
            nxt = [int(value * (k / total)) for value in nxt]
            nxt[0] += k - sum(nxt)
        successors[i, j] = [index[int(env.global_next[g, a].argmax()), tuple(nxt)]] * samples
    q = np.zeros_like(reward)
    for _ in range(sweeps):
        old = q.copy()
        expected = np.zeros_like(q)
        for (i, j), nexts in successors.items():
            expected[i, j] = np.mean([np.max(old[n, :]) for n in nexts])
        q = reward + gamma * expected
    return q


def test_reference_equals_the_published_loop_bit_for_bit(env):
    tables = build_reference_tables(env, 2, 10, np.random.default_rng(0))
    fast = train_reference(tables, 0.9, 12, 10)
    np.testing.assert_array_equal(fast, _published_loop(env, 2, 10, 0.9, 12))


def test_paper_equals_brute_force_value_iteration(env, key):
    k, gamma, sweeps = 2, 0.9, 15
    tables = build_paper_tables(env, k)
    q = train_paper(key, tables, env, gamma, sweeps, 10)
    value = np.zeros((5, len(tables.state_counts)))
    for _ in range(sweeps):
        new = np.full_like(value, -np.inf)
        for g, p, a in itertools.product(range(5), range(len(tables.pair_counts)), range(5)):
            agents = [divmod(int(pair), 3) for pair in tables.agent_pairs[p]]
            reward = env.global_reward[g, a] + np.mean(
                [env.local_reward[s, g, b] for s, b in agents]
            )
            moved = np.zeros(3, dtype=int)
            for s, b in agents:
                moved[env.local_next[s, g, b].argmax()] += 1
            c_next = int(np.nonzero((tables.state_counts == moved).all(axis=1))[0][0])
            g_next = env.global_next[g, a].argmax()
            total = reward + gamma * value[g_next, c_next]
            new[g, tables.group[p]] = max(new[g, tables.group[p]], total)
        value = new
    best = np.full_like(value, -np.inf)
    np.maximum.at(best, (slice(None), tables.group), q.max(axis=-1))
    np.testing.assert_allclose(best, value, rtol=1e-5)


def test_paper_stochastic_training_is_seeded_and_differs_from_deterministic():
    raw = small_config_dict()
    raw["environment"]["functions"]["local_agent_transition"] = STOCHASTIC_TRANSITION
    config = parse_config(raw)
    env = tabulate_environment(config, seed=1)
    assert not env.local_deterministic
    np.testing.assert_allclose(env.local_next.sum(axis=-1), 1.0)
    # P(stay at 0 | s=0, a=0) = 0.8 up to sampling error of 256 draws
    assert abs(env.local_next[1, 2, 1, 1] - 0.8) < 0.12
    first = train_q(jax.random.key(3), env, config, 2, "paper").q
    second = train_q(jax.random.key(3), env, config, 2, "paper").q
    np.testing.assert_array_equal(first, second)
    assert np.isfinite(first).all()
    deterministic = parse_config(small_config_dict())
    other = train_q(jax.random.key(3), tabulate_environment(deterministic), deterministic, 2)
    assert not np.allclose(first, other.q)
