"""Fault tolerance: raising, NaN, removed and odd-shaped members are dropped and reported."""

from __future__ import annotations

import numpy as np
import pytest

from marlax.ensembles import AllMembersFailedError, combine_members
from marlax.errors import ConfigError

PROBS = np.array(
    [[0.125, 0.125, 0.25, 0.5], [0.5, 0.25, 0.125, 0.125], [0.25, 0.25, 0.25, 0.25]],
    dtype=np.float32,
)


def _constant(output):
    return lambda inputs: output


def _raising(inputs):
    raise RuntimeError("checkpoint missing")


def test_all_healthy_members_take_part():
    members = [_constant(p) for p in PROBS]
    answer = combine_members(members, None, weights=[1.0, 2.0, 1.0])
    np.testing.assert_array_equal(answer.output, [0.34375, 0.21875, 0.1875, 0.25])
    assert answer.members_used == (0, 1, 2)
    assert answer.failures == {}
    np.testing.assert_allclose(answer.weights_used, [0.25, 0.5, 0.25])


@pytest.mark.parametrize(
    ("bad_member", "reason"),
    [
        (_raising, "raised RuntimeError: checkpoint missing"),
        (_constant(np.full(4, np.nan, np.float32)), "returned NaN"),
        (_constant(np.array([0.5, np.inf, 0.0, 0.0], np.float32)), "returned inf"),
        (None, "removed"),
        (_constant(np.ones(3, np.float32)), "returned shape (3,), the others (4,)"),
    ],
)
def test_a_failing_member_is_dropped_and_weights_renormalised(bad_member, reason):
    members = [_constant(PROBS[0]), bad_member, _constant(PROBS[2])]
    answer = combine_members(members, None, weights=[1.0, 2.0, 3.0])
    np.testing.assert_allclose(answer.output, 0.25 * PROBS[0] + 0.75 * PROBS[2])
    assert answer.members_used == (0, 2)
    assert answer.failures == {1: reason}
    np.testing.assert_allclose(answer.weights_used, [0.25, 0.0, 0.75])


def test_removed_by_index_is_not_called():
    calls = []

    def counting(inputs):
        calls.append(inputs)
        return PROBS[1]

    answer = combine_members([_constant(PROBS[0]), counting], "x", removed={1})
    assert calls == []
    assert answer.members_used == (0,)
    np.testing.assert_allclose(answer.output, PROBS[0])


def test_members_receive_the_inputs():
    members = [lambda inputs: inputs * 2.0, lambda inputs: inputs * 4.0]
    answer = combine_members(members, np.array([1.0, 3.0], np.float32))
    np.testing.assert_allclose(answer.output, [3.0, 9.0])


def test_mixture_accepts_minus_inf_but_average_does_not():
    masked = np.array([np.log(0.5), np.log(0.5), -np.inf, -np.inf], np.float32)  # illegal: -inf
    members = [_constant(masked), _constant(np.log(PROBS[2]))]
    mixture = combine_members(members, None, rule="mixture_log_probs")
    assert mixture.members_used == (0, 1)
    np.testing.assert_allclose(np.exp(mixture.output), [0.375, 0.375, 0.125, 0.125], rtol=1e-6)
    average = combine_members(members, None, rule="weighted_average")
    assert average.members_used == (1,)


def test_votes_with_a_failing_member():
    members = [_constant(np.int32(1)), _raising, _constant(np.int32(2))]
    hard = combine_members(members, None, weights=[1.0, 5.0, 1.0], rule="hard_vote", num_classes=4)
    assert int(hard.output) == 1  # tie between 1 and 2 -> lower class
    soft = combine_members([_constant(p) for p in PROBS], None, rule="soft_vote")
    assert int(soft.output) == 0


def test_all_members_failing_names_every_failure():
    members = [_raising, _constant(np.full(4, np.nan, np.float32)), None]
    with pytest.raises(AllMembersFailedError) as caught:
        combine_members(members, None)
    message = str(caught.value)
    assert "member 0: raised RuntimeError: checkpoint missing" in message
    assert "member 1: returned NaN" in message
    assert "member 2: removed" in message
    assert caught.value.failures == {
        0: "raised RuntimeError: checkpoint missing",
        1: "returned NaN",
        2: "removed",
    }


def test_only_zero_weight_survivors_is_a_failure():
    with pytest.raises(AllMembersFailedError, match="weight 0"):
        combine_members([_raising, _constant(PROBS[1])], None, weights=[1.0, 0.0])


def test_bad_settings_are_config_errors():
    members = [_constant(PROBS[0])]
    with pytest.raises(ConfigError, match="rule"):
        combine_members(members, None, rule="median")
    with pytest.raises(ConfigError, match="weights"):
        combine_members(members, None, weights=[-1.0])
    with pytest.raises(ConfigError, match="num_classes"):
        combine_members(members, None, rule="hard_vote")
