"""spread_family: tasks fix the landmarks and speeds; at speed 1 it is simple_spread."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.meta import SpreadFamily, SpreadTask
from marlax.envs.simple_spread.env import SimpleSpread
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close, random_actions


def test_a_task_keeps_its_landmarks_across_episodes(key):
    env = SpreadFamily()
    task = env.sample_task(jax.random.key(1))
    _, first = env.reset_to_task(key, task)
    _, second = env.reset_to_task(jax.random.key(9), task)
    np.testing.assert_array_equal(first.task.landmark_pos, second.task.landmark_pos)
    np.testing.assert_array_equal(first.task.speed, second.task.speed)
    assert not np.allclose(first.agent_pos, second.agent_pos), "agents start anew each episode"


def test_tasks_differ_and_lie_in_their_ranges(key):
    env = SpreadFamily(landmark_range=2.0, speed_low=0.5, speed_high=1.5)
    tasks = jax.vmap(env.sample_task)(jax.random.split(key, 500))
    landmarks, speeds = np.asarray(tasks.landmark_pos), np.asarray(tasks.speed)
    assert landmarks.shape == (500, 3, 2) and speeds.shape == (500, 3)
    assert np.abs(landmarks).max() <= 2.0 and np.abs(landmarks).max() > 1.9
    assert speeds.min() >= 0.5 and speeds.max() <= 1.5
    assert speeds.min() < 0.55 and speeds.max() > 1.45
    assert len(np.unique(landmarks.reshape(500, -1), axis=0)) == 500


@pytest.mark.parametrize("continuous_actions", [False, True])
def test_speed_one_with_landmarks_shown_equals_simple_spread(key, continuous_actions):
    """Same key and the family's landmarks injected: simple_spread step for step."""
    family = SpreadFamily(
        speed_low=1.0, speed_high=1.0, show_landmarks=True, continuous_actions=continuous_actions
    )
    spread = SimpleSpread(continuous_actions=continuous_actions)
    task = family.sample_task(jax.random.key(4))
    obs, state = family.reset_to_task(key, task)
    _, reference_state = spread.reset(key)
    reference_state = reference_state.replace(landmark_pos=task.landmark_pos)
    assert_trees_close(obs, spread.observe(reference_state))
    family_step, spread_step = jax.jit(family.step), jax.jit(spread.step)
    for step_index in range(spread.max_steps):
        actions = random_actions(jax.random.key(step_index), family, state)
        step_key = jax.random.key(100 + step_index)
        obs, state, reward, done, info = family_step(step_key, state, actions)
        expected = spread_step(step_key, reference_state, actions)
        reference_state = expected[1]
        assert_trees_close((obs, reward, done, info), (expected[0], *expected[2:]), atol=1e-6)
        np.testing.assert_allclose(state.agent_pos, reference_state.agent_pos, atol=1e-6)
    assert bool(done)


def test_a_fast_agent_moves_further_under_the_same_action(key):
    """From rest and far apart (no contact), displacement is proportional to speed."""
    env = SpreadFamily()
    task = SpreadTask(
        landmark_pos=jnp.zeros((3, 2), jnp.float32), speed=jnp.asarray([2.0, 1.0, 0.5])
    )
    _, state = env.reset_to_task(key, task)
    start = jnp.asarray([[-3.0, -3.0], [0.0, 0.0], [3.0, 3.0]], jnp.float32)
    state = state.replace(agent_pos=start)
    right = jnp.full((3,), 2, jnp.int32)  # mpe2: action 2 pushes +x
    for step_index in range(4):
        _, state, *_ = env.step(jax.random.key(step_index), state, right)
    moved = np.asarray(state.agent_pos - start)
    np.testing.assert_allclose(moved[:, 1], 0.0, atol=1e-7)
    assert moved[0, 0] > moved[1, 0] > moved[2, 0] > 0.0
    np.testing.assert_allclose(moved[:, 0] / moved[1, 0], [2.0, 1.0, 0.5], rtol=1e-5)


def test_hidden_landmarks_leave_the_observation_but_not_the_reward(key):
    env = SpreadFamily()
    near = env.sample_task(jax.random.key(1))
    far = near.replace(landmark_pos=near.landmark_pos + 5.0)
    near_obs, near_state = env.reset_to_task(key, near)
    far_obs, far_state = env.reset_to_task(key, far)
    assert near_obs.shape == (3, 12)
    np.testing.assert_array_equal(near_obs, far_obs)
    shown = SpreadFamily(show_landmarks=True).reset_to_task(key, near)[0]
    np.testing.assert_array_equal(near_obs, np.delete(np.asarray(shown), np.arange(4, 10), axis=1))
    actions = jnp.zeros(3, jnp.int32)
    near_reward = env.step(key, near_state, actions)[2]
    far_reward = env.step(key, far_state, actions)[2]
    assert np.all(np.asarray(far_reward) < np.asarray(near_reward) - 5.0)


def test_reveal_task_gives_each_agent_its_own_speed_first(key):
    env = SpreadFamily(reveal_task=True)
    task = SpreadTask(
        landmark_pos=jnp.arange(6, dtype=jnp.float32).reshape(3, 2) / 10,
        speed=jnp.asarray([0.6, 0.9, 1.2]),
    )
    obs, _ = env.reset_to_task(key, task)
    landmarks = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    np.testing.assert_allclose(obs[0, 12:], [*landmarks, 0.6, 0.9, 1.2], rtol=1e-6)
    np.testing.assert_allclose(obs[1, 12:], [*landmarks, 0.9, 0.6, 1.2], rtol=1e-6)
    np.testing.assert_allclose(obs[2, 12:], [*landmarks, 1.2, 0.6, 0.9], rtol=1e-6)


def test_global_state_adds_the_speeds_to_simple_spreads(key):
    env = SpreadFamily()
    obs, state = env.reset_to_task(key, env.sample_task(jax.random.key(2)))
    global_state = env.global_state(state, obs)
    assert global_state.shape == (21,)
    np.testing.assert_array_equal(global_state[-3:], state.task.speed)
    np.testing.assert_array_equal(global_state[12:18], state.task.landmark_pos.reshape(-1))


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"speed_low": 1.5, "speed_high": 1.0}, "speed_high"),
        ({"speed_low": 0.0}, "speed_low"),
        ({"landmark_range": -1.0}, "landmark_range"),
        ({"num_agents": 0}, "num_agents"),
        ({"render_size": 100}, "render_size"),
    ],
)
def test_bad_settings_are_config_errors(setting, field):
    with pytest.raises(ConfigError, match=field):
        SpreadFamily(**setting)


@pytest.mark.parametrize("reveal_task", [False, True])
def test_a_team_of_one(key, reveal_task):
    env = SpreadFamily(num_agents=1, reveal_task=reveal_task)
    obs, state = jax.jit(env.reset)(key)
    obs, state, reward, *_ = jax.jit(env.step)(key, state, jnp.asarray([4]))
    assert obs.shape == (1, 4 + 3 * reveal_task) == (1, *env.observation_space.shape)
    assert reward.shape == (1,)
    np.testing.assert_allclose(state.agent_vel, [[0.0, 0.5 * state.task.speed[0]]], rtol=1e-6)
