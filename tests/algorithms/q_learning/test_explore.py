"""Acting: masks are respected by greedy, random and epsilon-greedy choices; epsilon schedule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.q_learning.explore import (
    epsilon_at,
    epsilon_greedy,
    greedy,
    random_legal,
)
from marlax.config.q_learning import QLearningConfig


def _legal(key, shape):
    legal = jax.random.bernoulli(key, 0.4, shape)
    return legal.at[..., 0].set(legal[..., 0] | ~legal.any(-1))  # >= 1 legal per row


def test_no_choice_ever_picks_an_illegal_action():
    keys = jax.random.split(jax.random.key(0), 4)
    legal = _legal(keys[0], (500, 6))
    q = jax.random.normal(keys[1], (500, 6)) + jnp.where(legal, 0.0, 100.0)  # illegal look best
    choices = {
        "greedy": greedy(q, legal),
        "random": random_legal(keys[2], legal),
        "eps 0.5": epsilon_greedy(keys[3], q, legal, jnp.float32(0.5)),
        "eps 1": epsilon_greedy(keys[3], q, legal, jnp.float32(1.0)),
    }
    for name, actions in choices.items():
        picked = np.take_along_axis(np.asarray(legal), np.asarray(actions)[:, None], 1)
        assert picked.all(), name


def test_greedy_is_the_best_legal_action():
    q = jnp.array([[1.0, 5.0, 3.0], [1.0, 5.0, 3.0]])
    legal = jnp.array([[True, True, True], [True, False, True]])
    np.testing.assert_array_equal(greedy(q, legal), [1, 2])


def test_random_legal_is_uniform_over_the_legal_actions():
    legal = jnp.broadcast_to(jnp.array([True, False, True, True]), (30000, 4))
    counts = np.bincount(np.asarray(random_legal(jax.random.key(1), legal)), minlength=4)
    assert counts[1] == 0
    np.testing.assert_allclose(counts[[0, 2, 3]] / 30000, 1 / 3, atol=0.015)


def test_epsilon_greedy_explores_at_the_rate_epsilon():
    q = jnp.broadcast_to(jnp.array([0.0, 1.0]), (40000, 2))
    legal = jnp.ones((40000, 2), bool)
    actions = epsilon_greedy(jax.random.key(2), q, legal, jnp.float32(0.3))
    # greedy = 1; a random action is 0 half the time: P(0) = 0.3 / 2
    assert float((actions == 0).mean()) == pytest.approx(0.15, abs=0.01)


def test_epsilon_schedule_by_hand():
    config = QLearningConfig(eps_start=1.0, eps_finish=0.1, eps_decay=0.5)
    values = [float(epsilon_at(config, jnp.float32(s), 1000)) for s in (0, 250, 500, 900)]
    np.testing.assert_allclose(values, [1.0, 0.55, 0.1, 0.1], rtol=1e-6)
    constant = QLearningConfig(eps_start=1.0, eps_finish=0.2, eps_decay=0.0)
    assert float(epsilon_at(constant, jnp.float32(0), 1000)) == pytest.approx(0.2)
