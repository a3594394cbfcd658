"""EnsemblePolicy: each rule by hand on fixed member scores, NaN members left out, memory."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.algorithms.ensemble.policy import EnsemblePolicy, check_rule
from marlax.errors import ConfigError


@struct.dataclass
class FixedScores:
    """A member that always scores the same: f32[N, A]; counts its steps in its memory."""

    scores: jax.Array

    def initial_memory(self) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def action_scores(self, obs: Any, state: Any, memory: jax.Array, reset: Any) -> tuple:
        return self.scores, memory + 1


def _log(probs):
    return jnp.log(jnp.asarray(probs, jnp.float32))


# 2 agents, 3 actions; agent 0 rows then agent 1 rows
P1 = [[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]]
P2 = [[0.1, 0.5, 0.4], [0.5, 0.4, 0.1]]
P3 = [[0.1, 0.45, 0.45], [0.1, 0.8, 0.1]]


def _ensemble(rule, weights=(1.0, 1.0, 1.0), members=None, sample=False, discrete=True):
    members = members or tuple(FixedScores(_log(p)) for p in (P1, P2, P3))
    return EnsemblePolicy(members, jnp.asarray(weights, jnp.float32), rule, discrete, sample)


def _act(policy, key=0):
    return policy.act(jax.random.key(key), None, None, policy.initial_memory(), jnp.bool_(True))


def test_average_plays_the_mode_of_the_mean_probabilities():
    # agent 0 mean: [0.267, 0.417, 0.317] -> 1; agent 1 mean: [0.267, 0.467, 0.267] -> 1
    actions, _ = _act(_ensemble("average"))
    np.testing.assert_array_equal(actions, [1, 1])


def test_weighted_and_soft_vote_use_the_weights():
    # weights 4:1:1 -> agent 0: [2.6, 2.15, 1.25] -> 0; agent 1: [1.4, 1.6, 2.6] -> 2
    for rule in ("weighted", "soft_vote"):
        actions, _ = _act(_ensemble(rule, (4.0, 1.0, 1.0)))
        np.testing.assert_array_equal(actions, [0, 2])


def test_hard_vote_majority_and_lowest_index_tie():
    # greedy: member 1 -> [0, 2], member 2 -> [1, 0], member 3 -> [1 (tie 1/2 -> 1), 1]
    actions, _ = _act(_ensemble("vote"))
    np.testing.assert_array_equal(actions, [1, 0])  # agent 1: one vote each, tie -> 0
    actions, _ = _act(_ensemble("vote", (2.0, 1.0, 1.0)))
    np.testing.assert_array_equal(actions, [0, 2])


def test_a_nan_member_is_left_out_and_the_rest_renormalised():
    nan_member = FixedScores(jnp.full((2, 3), jnp.nan))
    members = (FixedScores(_log(P1)), nan_member, FixedScores(_log(P2)))
    actions, _ = _act(_ensemble("average", members=members))
    # mean of P1 and P2: agent 0 [0.35, 0.4, 0.25] -> 1; agent 1 [0.35, 0.3, 0.35] -> 0 (tie)
    np.testing.assert_array_equal(actions, [1, 0])


def test_no_finite_member_plays_member_zero():
    members = (FixedScores(jnp.full((2, 3), jnp.nan)), FixedScores(jnp.full((2, 3), jnp.inf)))
    actions, _ = _act(_ensemble("average", (1.0, 1.0), members=members))
    assert actions.shape == (2,) and actions.dtype == jnp.int32


def test_every_member_keeps_its_own_memory():
    policy = _ensemble("average")
    memory = policy.initial_memory()
    for _ in range(3):
        _, memory = policy.act(jax.random.key(0), None, None, memory, jnp.bool_(False))
    assert [int(m) for m in memory] == [3, 3, 3]


def test_sampling_the_mixture_matches_its_probabilities():
    policy = _ensemble("average", sample=True)
    keys = jax.random.split(jax.random.key(1), 4000)
    actions = jax.vmap(lambda key: policy.act(key, None, None, (0, 0, 0), True)[0])(keys)
    frequencies = np.bincount(np.asarray(actions[:, 0]), minlength=3) / len(keys)
    expected = np.mean([P1[0], P2[0], P3[0]], axis=0)
    np.testing.assert_allclose(frequencies, expected, atol=0.03)


def test_continuous_members_average_their_actions():
    members = (FixedScores(jnp.array([[1.0, -1.0]])), FixedScores(jnp.array([[0.0, 1.0]])))
    policy = _ensemble("weighted", (3.0, 1.0), members=members, discrete=False)
    actions, _ = _act(policy)
    np.testing.assert_allclose(actions, [[0.75, -0.5]])


def test_jit_equals_no_jit():
    policy = _ensemble("soft_vote", (1.0, 2.0, 3.0))
    memory = policy.initial_memory()
    eager = policy.act(jax.random.key(0), None, None, memory, jnp.bool_(True))[0]
    jitted = jax.jit(lambda p, m: p.act(jax.random.key(0), None, None, m, jnp.bool_(True))[0])
    np.testing.assert_array_equal(eager, jitted(policy, memory))


def test_votes_are_refused_for_continuous_actions():
    with pytest.raises(ConfigError, match="rule"):
        check_rule("vote", discrete=False)
    with pytest.raises(ConfigError, match="rule"):
        check_rule("majority", discrete=True)
