"""The combination rules by hand on 3 members x 4 classes, ties, masks, and jit == no-jit."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.ensembles import rules
from marlax.errors import ConfigError

# Dyadic probabilities, so every weighted sum below is exact in float32.
PROBS = jnp.array(
    [
        [0.125, 0.125, 0.25, 0.5],
        [0.5, 0.25, 0.125, 0.125],
        [0.25, 0.25, 0.25, 0.25],
    ]
)
ALIVE_0_2 = jnp.array([True, False, True])


def test_simple_average_by_hand():
    expected = jnp.array([0.875, 0.625, 0.625, 0.875]) / 3
    np.testing.assert_allclose(rules.simple_average(PROBS), expected, rtol=1e-6)


def test_weighted_average_normalises_weights():
    expected = jnp.array([0.34375, 0.21875, 0.1875, 0.25])  # w = [1, 2, 1] / 4
    np.testing.assert_array_equal(
        rules.weighted_average(PROBS, jnp.array([1.0, 2.0, 1.0])), expected
    )
    np.testing.assert_array_equal(
        rules.weighted_average(PROBS, jnp.array([2.0, 4.0, 2.0])), expected
    )


def test_mixture_log_probs_is_the_log_of_the_weighted_mean():
    mixture = rules.mixture_log_probs(jnp.log(PROBS), jnp.array([1.0, 2.0, 1.0]))
    np.testing.assert_allclose(jnp.exp(mixture), [0.34375, 0.21875, 0.1875, 0.25], rtol=1e-6)
    np.testing.assert_allclose(jax.nn.logsumexp(mixture), 0.0, atol=1e-6)


def test_mixture_keeps_a_class_every_member_masks_at_minus_inf():
    log_probs = jnp.log(PROBS.at[:, 3].set(0.0))  # class 3 illegal for all: -inf
    mixture = rules.mixture_log_probs(log_probs, jnp.ones(3))
    assert mixture[3] == -jnp.inf
    assert bool(jnp.all(jnp.isfinite(mixture[:3])))


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([1.0, 1.0, 1.0], 0),  # classes 0 and 3 tie at 0.875 / 3: lowest index wins
        ([1.0, 2.0, 1.0], 0),  # [0.34375, 0.21875, 0.1875, 0.25]
        ([2.0, 1.0, 1.0], 3),  # [0.25, 0.1875, 0.21875, 0.34375]
        ([0.0, 0.0, 1.0], 0),  # only the uniform member: a four-way tie
    ],
)
def test_soft_vote_by_hand(weights, expected):
    assert int(rules.soft_vote(PROBS, jnp.array(weights))) == expected


# Columns are six independent votes of the 3 members.
LABELS = jnp.array([[1, 3, 3, 3, 2, 1], [2, 1, 1, 1, 0, 2], [3, 3, 3, 3, 1, 2]])


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ([1.0, 1.0, 1.0], [1, 3, 3, 3, 0, 2]),  # column 0: three-way tie -> class 1; 4: -> 0
        ([1.0, 1.5, 1.0], [2, 3, 3, 3, 0, 2]),  # column 1: 1 + 1 beats 1.5
        ([1.0, 2.0, 1.0], [2, 1, 1, 1, 0, 2]),  # column 1: 2 vs 1 + 1, a tie -> lower class 1
        ([0.5, 0.25, 0.25], [1, 3, 3, 3, 2, 1]),  # column 5: 1 (0.5) ties 2 (0.5) -> 1
    ],
)
def test_hard_vote_by_hand_with_ties(weights, expected):
    np.testing.assert_array_equal(rules.hard_vote(LABELS, jnp.array(weights), 4), expected)


def test_hard_vote_dead_member_does_not_vote():
    labels = jnp.array([1, 2, 2])
    weights = jnp.array([1.0, 5.0, 1.0])
    assert int(rules.hard_vote(labels, weights, 4)) == 2
    assert int(rules.hard_vote(labels, weights, 4, alive=jnp.array([True, False, True]))) == 1


def test_bma_weights_by_hand():
    log_evidence = jnp.log(jnp.array([1.0, 2.0, 5.0]))
    np.testing.assert_allclose(rules.bma_weights(log_evidence), [0.125, 0.25, 0.625], rtol=1e-6)
    root = np.sqrt([1.0, 2.0, 5.0])
    np.testing.assert_allclose(rules.bma_weights(log_evidence, 2.0), root / root.sum(), rtol=1e-6)


def test_bma_temperature_limits():
    log_evidence = jnp.array([-3.0, 0.0, 0.0])
    np.testing.assert_allclose(rules.bma_weights(log_evidence, 1e6), [1 / 3] * 3, atol=1e-5)
    np.testing.assert_array_equal(rules.bma_weights(log_evidence, 1e-30), [0.0, 0.5, 0.5])
    assert rules.bma_weights(jnp.array([0.0, 1e-3, 5.0]), 1e-30)[2] == 1.0


def test_bma_rejects_non_positive_temperature():
    with pytest.raises(ConfigError, match="temperature"):
        rules.bma_weights(jnp.zeros(3), 0.0)


def test_bma_alive_mask_renormalises_and_isolates_nan():
    log_evidence = jnp.array([0.0, jnp.nan, math.log(5.0)])
    np.testing.assert_allclose(
        rules.bma_weights(log_evidence, alive=ALIVE_0_2), [1 / 6, 0.0, 5 / 6], rtol=1e-6
    )


@pytest.mark.parametrize(
    ("scores", "kind", "expected"),
    [
        ([0.5, 0.25, 0.25], "proportional", [0.5, 0.25, 0.25]),
        ([-1.0, 1.0, 3.0], "proportional", [0.0, 0.25, 0.75]),  # negatives count as 0
        ([0.0, 0.0, 0.0], "proportional", [1 / 3, 1 / 3, 1 / 3]),
        ([0.9, 0.5, 0.7], "rank", [0.5, 1 / 6, 1 / 3]),  # ranks 3, 1, 2
        ([0.9, 0.5, 0.5], "rank", [0.5, 0.25, 0.25]),  # tied ranks share 1.5
        ([0.9, 0.9, 0.5], "best", [0.5, 0.5, 0.0]),
        ([0.0, math.log(2.0), math.log(5.0)], "softmax", [0.125, 0.25, 0.625]),
    ],
)
def test_performance_weights_by_hand(scores, kind, expected):
    weights = rules.performance_weights(jnp.array(scores), kind)
    np.testing.assert_allclose(weights, expected, rtol=1e-6, atol=1e-7)


def test_performance_weights_rank_ignores_dead_members():
    weights = rules.performance_weights(jnp.array([0.9, 0.99, 0.5]), "rank", alive=ALIVE_0_2)
    np.testing.assert_allclose(weights, [2 / 3, 0.0, 1 / 3], rtol=1e-6)


def test_performance_weights_rejects_unknown_kind():
    with pytest.raises(ConfigError, match="kind"):
        rules.performance_weights(jnp.ones(3), "median")


@pytest.mark.parametrize("bad_value", [jnp.nan, jnp.inf])
def test_alive_mask_renormalises_and_isolates_a_bad_member(bad_value):
    outputs = PROBS.at[1].set(bad_value)
    weights = jnp.array([1.0, 2.0, 3.0])
    expected = (0.25 * PROBS[0] + 0.75 * PROBS[2]).tolist()
    np.testing.assert_allclose(rules.weighted_average(outputs, weights, ALIVE_0_2), expected)
    mixture = rules.mixture_log_probs(jnp.log(outputs), weights, ALIVE_0_2)
    np.testing.assert_allclose(jnp.exp(mixture), expected, rtol=1e-6)
    np.testing.assert_allclose(rules.normalise_weights(weights, ALIVE_0_2), [0.25, 0.0, 0.75])
    assert int(rules.soft_vote(outputs, weights, ALIVE_0_2)) == 3  # [.21875, .21875, .25, .3125]


def test_a_zero_weight_member_does_not_leak_nan():
    outputs = PROBS.at[0].set(jnp.nan)
    averaged = rules.weighted_average(outputs, jnp.array([0.0, 1.0, 1.0]))
    np.testing.assert_allclose(averaged, 0.5 * (PROBS[1] + PROBS[2]))


def test_gradients_stay_finite_around_a_dead_member():
    log_probs = jnp.log(PROBS).at[1].set(jnp.nan)

    def total(weights):
        return jnp.sum(rules.mixture_log_probs(log_probs, weights, ALIVE_0_2))

    assert bool(jnp.all(jnp.isfinite(jax.grad(total)(jnp.array([1.0, 2.0, 3.0])))))


def test_all_members_dead_gives_nan_inside_jit():
    assert bool(jnp.all(jnp.isnan(rules.simple_average(PROBS, jnp.zeros(3, dtype=bool)))))


def test_rules_accept_batch_axes():
    batch = jnp.stack([PROBS, PROBS[::-1]], axis=1)  # f32[K=3, B=2, C=4]
    weights = jnp.array([1.0, 2.0, 1.0])
    averaged = rules.weighted_average(batch, weights)
    assert averaged.shape == (2, 4)
    np.testing.assert_allclose(averaged[0], rules.weighted_average(PROBS, weights))
    assert rules.soft_vote(batch, weights).shape == (2,)


RULE_CALLS = {
    "simple_average": lambda p, w, a: rules.simple_average(p, a),
    "weighted_average": rules.weighted_average,
    "mixture_log_probs": lambda p, w, a: rules.mixture_log_probs(jnp.log(p), w, a),
    "soft_vote": rules.soft_vote,
    "hard_vote": lambda p, w, a: rules.hard_vote(jnp.argmax(p, axis=-1), w, 4, a),
    "bma_weights": lambda p, w, a: rules.bma_weights(jnp.log(w), 0.5, a),
    "rank_weights": lambda p, w, a: rules.performance_weights(w, "rank", alive=a),
}


@pytest.mark.parametrize("name", sorted(RULE_CALLS))
def test_jit_equals_no_jit(name):
    probs = jax.nn.softmax(jax.random.normal(jax.random.key(1), (3, 5, 4)), axis=-1)
    weights = jnp.array([0.2, 0.5, 0.3])
    call = RULE_CALLS[name]
    for alive in (None, ALIVE_0_2):
        np.testing.assert_allclose(
            jax.jit(call)(probs, weights, alive), call(probs, weights, alive), rtol=1e-6
        )


def test_wrong_weight_shape_is_refused():
    with pytest.raises(ConfigError, match="weights"):
        rules.weighted_average(PROBS, jnp.ones(4))
