"""Double-Q TD targets and losses, by hand on a two-step toy MDP."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.q_learning.targets import (
    chosen_q,
    next_q,
    squared_td,
    td_target,
    team_reward,
)

# One chunk (K=1) of T=2 steps, one agent, two actions.
# Q-values at o_0, o_1, o_2 (the final observation), online and target networks:
ONLINE = jnp.array([[1.0, 2.0], [3.0, 5.0], [7.0, 4.0]]).reshape(3, 1, 1, 2)
TARGET = jnp.array([[0.5, 1.5], [2.0, 6.0], [1.0, 9.0]]).reshape(3, 1, 1, 2)
LEGAL = jnp.ones((3, 1, 1, 2), bool)


def test_double_q_picks_with_the_online_network_and_values_with_the_target():
    # online argmax at o_1 is action 1 (5 > 3): target value 6; at o_2 action 0 (7 > 4): 1
    np.testing.assert_allclose(next_q(ONLINE, TARGET, LEGAL, True)[:, 0, 0], [6.0, 1.0])
    # plain Q-learning: the target's own max, 6 at o_1 and 9 at o_2
    np.testing.assert_allclose(next_q(ONLINE, TARGET, LEGAL, False)[:, 0, 0], [6.0, 9.0])


def test_the_next_action_is_never_an_illegal_one():
    legal = LEGAL.at[2, 0, 0, 0].set(False)  # at o_2 only action 1 is legal
    np.testing.assert_allclose(next_q(ONLINE, TARGET, legal, True)[:, 0, 0], [6.0, 9.0])


def test_two_step_targets_by_hand():
    """r = (1, 2), gamma 0.5; the episode terminates at step 1 (no bootstrap), so
    y_0 = 1 + 0.5 * 6 = 4 and y_1 = 2."""
    reward = jnp.array([1.0, 2.0]).reshape(2, 1, 1)
    terminated = jnp.array([False, True]).reshape(2, 1)
    bootstrap = next_q(ONLINE, TARGET, LEGAL, True)
    target = td_target(reward, terminated, bootstrap, 0.5)
    np.testing.assert_allclose(target[:, 0, 0], [4.0, 2.0])
    # the agent took actions 0 then 1: Q = 1 and 5; loss = ((1-4)^2 + (5-2)^2) / 2 = 9
    taken = chosen_q(ONLINE[:-1], jnp.array([0, 1]).reshape(2, 1, 1))
    np.testing.assert_allclose(taken[:, 0, 0], [1.0, 5.0])
    parts = squared_td(taken, target)
    assert float(parts.loss) == pytest.approx(9.0)
    assert float(parts.q_taken) == pytest.approx(3.0)
    assert float(parts.target) == pytest.approx(3.0)


def test_a_truncated_last_step_bootstraps():
    reward = jnp.array([1.0, 2.0]).reshape(2, 1, 1)
    not_terminated = jnp.zeros((2, 1), bool)
    target = td_target(reward, not_terminated, next_q(ONLINE, TARGET, LEGAL, True), 0.5)
    np.testing.assert_allclose(target[:, 0, 0], [4.0, 2.5])


def test_team_reward_mean_and_sum():
    reward = jnp.array([[[1.0, 2.0, 6.0]]])
    assert float(team_reward(reward, "mean")[0, 0]) == pytest.approx(3.0)
    assert float(team_reward(reward, "sum")[0, 0]) == pytest.approx(9.0)


def test_the_target_gets_no_gradient():
    import jax

    grad = jax.grad(lambda y: squared_td(jnp.ones(3), y).loss)(jnp.zeros(3))
    np.testing.assert_array_equal(grad, 0.0)
