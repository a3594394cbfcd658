"""navigation_2d: Finn et al. (2017)'s point robot, checked by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.meta import Navigation2D
from marlax.errors import ConfigError


def _step(env, goal, moves):
    """Episode of `goal` driven by `moves` f32[T, 2]; returns per-step (obs, reward, info)."""
    _, state = env.reset_to_task(jax.random.key(0), jnp.asarray(goal, jnp.float32))
    results = []
    for move in moves:
        obs, state, reward, done, info = env.step(
            jax.random.key(1), state, jnp.asarray([move], jnp.float32)
        )
        results.append((obs, reward, done, info, state))
    return results


def test_move_is_clipped_and_reward_is_minus_the_distance_after_it():
    ((obs, reward, done, info, state),) = _step(Navigation2D(), [0.3, 0.4], [[0.5, -0.5]])
    np.testing.assert_allclose(state.position, [0.1, -0.1], atol=1e-7)
    np.testing.assert_allclose(obs, [[0.1, -0.1]], atol=1e-7)
    np.testing.assert_allclose(reward, [-np.sqrt(0.2**2 + 0.5**2)], rtol=1e-6)
    assert not bool(done)


def test_reaching_the_goal_within_tolerance_terminates():
    *_, (_, _, done, info, _) = _step(Navigation2D(), [0.1, 0.195], [[0.05, 0.1], [0.05, 0.1]])
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])
    ((_, _, done, info, _),) = _step(Navigation2D(), [0.1, 0.12], [[0.1, 0.1]])
    assert not bool(done), "0.02 off in y is outside the 0.01 tolerance"


def test_every_episode_starts_at_the_origin(key):
    env = Navigation2D()
    obs, state = jax.vmap(env.reset)(jax.random.split(key, 16))
    np.testing.assert_array_equal(obs, np.zeros((16, 1, 2)))
    np.testing.assert_array_equal(state.position, np.zeros((16, 2)))
    assert len(np.unique(np.asarray(state.task), axis=0)) == 16


def test_goals_fill_the_square(key):
    goals = np.asarray(jax.vmap(Navigation2D().sample_task)(jax.random.split(key, 2000)))
    assert np.all(np.abs(goals) <= 0.5)
    assert goals.min() < -0.48 and goals.max() > 0.48
    np.testing.assert_allclose(goals.mean(axis=0), 0.0, atol=0.03)


def test_reveal_task_appends_the_goal():
    env = Navigation2D(reveal_task=True)
    ((obs, *_),) = _step(env, [0.3, -0.2], [[0.05, 0.02]])
    np.testing.assert_allclose(obs, [[0.05, 0.02, 0.3, -0.2]], atol=1e-7)


def test_truncated_after_max_steps_without_reaching():
    results = _step(Navigation2D(max_steps=3), [0.5, 0.5], [[0.0, 0.0]] * 3)
    assert [bool(done) for _, _, done, _, _ in results] == [False, False, True]
    assert bool(results[-1][3]["truncated"]) and not bool(results[-1][3]["terminated"])


@pytest.mark.parametrize(
    "setting", [{"goal_range": 0.0}, {"max_action": -0.1}, {"goal_tolerance": -1.0}]
)
def test_bad_settings_are_config_errors(setting):
    with pytest.raises(ConfigError, match=next(iter(setting))):
        Navigation2D(**setting)
