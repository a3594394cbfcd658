"""bandit_k: Bernoulli arms, the previous pull in the observation, the picture."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.meta import BanditK
from marlax.envs.meta.render import PULL_COLOURS
from marlax.errors import ConfigError

PROBABILITIES = jnp.asarray([0.1, 0.3, 0.5, 0.7, 0.9], jnp.float32)


def test_rewards_are_bernoulli_of_the_pulled_arm(key):
    """The frequency of reward 1 over 4000 pulls lies within 4 standard errors of p."""
    env = BanditK()
    _, state = env.reset_to_task(key, PROBABILITIES)
    pulls = 4000
    keys = jax.random.split(jax.random.key(1), pulls)

    def _rewards(arm):
        step = jax.vmap(env.step, in_axes=(0, None, None))
        return step(keys, state, jnp.asarray([arm], jnp.int32))[2][:, 0]

    for arm, probability in enumerate(np.asarray(PROBABILITIES)):
        rewards = np.asarray(_rewards(arm))
        assert set(np.unique(rewards)) <= {0.0, 1.0}
        standard_error = np.sqrt(probability * (1 - probability) / pulls)
        assert abs(rewards.mean() - probability) < 4 * standard_error, (arm, rewards.mean())


def test_observation_is_the_previous_arm_and_reward(key):
    env = BanditK()
    certain = jnp.asarray([0.0, 0.0, 0.0, 1.0, 0.0], jnp.float32)
    obs, state = env.reset_to_task(key, certain)
    np.testing.assert_array_equal(obs, np.zeros((1, 6)))
    obs, state, reward, *_ = env.step(jax.random.key(1), state, jnp.asarray([3]))
    np.testing.assert_array_equal(reward, [1.0])
    np.testing.assert_array_equal(obs, [[0, 0, 0, 1, 0, 1]])
    obs, state, reward, *_ = env.step(jax.random.key(2), state, jnp.asarray([1]))
    np.testing.assert_array_equal(reward, [0.0])
    np.testing.assert_array_equal(obs, [[0, 1, 0, 0, 0, 0]])


def test_reveal_task_appends_the_probabilities(key):
    obs, _ = BanditK(reveal_task=True).reset_to_task(key, PROBABILITIES)
    np.testing.assert_allclose(obs, [[0, 0, 0, 0, 0, 0, *np.asarray(PROBABILITIES)]])


def test_arms_are_uniform_and_the_count_is_a_setting(key):
    env = BanditK(num_arms=3)
    tasks = np.asarray(jax.vmap(env.sample_task)(jax.random.split(key, 2000)))
    assert tasks.shape == (2000, 3) and tasks.min() >= 0.0 and tasks.max() <= 1.0
    np.testing.assert_allclose(tasks.mean(axis=0), 0.5, atol=0.03)
    assert env.action_space.n == 3 and env.observation_space.shape == (4,)


def test_render_highlights_the_last_pull_by_its_reward(key):
    env = BanditK()
    certain = jnp.asarray([0.2, 1.0, 0.0, 0.5, 0.5], jnp.float32)
    _, state = env.reset_to_task(key, certain)
    _, paid, *_ = env.step(jax.random.key(1), state, jnp.asarray([1]))
    unpaid = paid.replace(last_arm=jnp.asarray(3), last_reward=jnp.asarray(0.0))
    render = jax.jit(env.render)
    bar_px = render(paid).shape[1] // 5
    paid_row, unpaid_row = render(paid)[-2], render(unpaid)[-2]  # every bar reaches it
    np.testing.assert_array_equal(paid_row[bar_px + bar_px // 2], PULL_COLOURS[1])
    np.testing.assert_array_equal(unpaid_row[3 * bar_px + bar_px // 2], PULL_COLOURS[0])
    plain = [paid_row[arm * bar_px + bar_px // 2] for arm in (0, 3, 4)]
    assert all(np.array_equal(colour, plain[0]) for colour in plain)
    assert not np.array_equal(plain[0], PULL_COLOURS[1])
    # an arm of probability 0 has no bar
    np.testing.assert_array_equal(paid_row[2 * bar_px + bar_px // 2], 255)


def test_one_arm_is_a_config_error():
    with pytest.raises(ConfigError, match="num_arms"):
        BanditK(num_arms=1)
