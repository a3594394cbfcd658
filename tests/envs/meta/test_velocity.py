"""velocity_point: the point mass dynamics and reward, checked by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.meta import VelocityPoint
from marlax.errors import ConfigError


def _run(env, target, forces):
    """Episode of `target` driven by `forces`; returns per-step (obs, reward, done, state)."""
    _, state = env.reset_to_task(jax.random.key(0), jnp.asarray(target, jnp.float32))
    results = []
    for force in forces:
        obs, state, reward, done, _ = env.step(
            jax.random.key(1), state, jnp.asarray([[force]], jnp.float32)
        )
        results.append((obs, reward, done, state))
    return results


def test_two_steps_by_hand():
    """v1 = 0.1 * 3 * 1 = 0.3, x1 = 0.03, r1 = -|0.3 - 1| - 0.05 = -0.75;
    v2 = 0.3 + 0.1 * (3 * 0.5 - 0.5 * 0.3) = 0.435, x2 = 0.0735,
    r2 = -|0.435 - 1| - 0.05 * 0.25 = -0.5775."""
    first, second = _run(VelocityPoint(), 1.0, [1.0, 0.5])
    np.testing.assert_allclose(first[3].velocity, 0.3, rtol=1e-6)
    np.testing.assert_allclose(first[3].position, 0.03, rtol=1e-6)
    np.testing.assert_allclose(first[1], [-0.75], rtol=1e-6)
    np.testing.assert_allclose(second[3].velocity, 0.435, rtol=1e-6)
    np.testing.assert_allclose(second[3].position, 0.0735, rtol=1e-6)
    np.testing.assert_allclose(second[1], [-0.5775], rtol=1e-6)
    np.testing.assert_allclose(second[0], [[0.435]], rtol=1e-6)


def test_force_is_clipped_to_unit():
    pushed, full = _run(VelocityPoint(), 0.5, [3.0]), _run(VelocityPoint(), 0.5, [1.0])
    np.testing.assert_array_equal(pushed[0][3].velocity, full[0][3].velocity)
    np.testing.assert_array_equal(pushed[0][1], full[0][1])
    ((_, reward, _, state),) = _run(VelocityPoint(), 0.0, [-5.0])
    np.testing.assert_allclose(state.velocity, -0.3, rtol=1e-6)
    np.testing.assert_allclose(reward, [-0.3 - 0.05], rtol=1e-6)


def test_speed_two_takes_eight_steps_at_full_force():
    """v_n = 6 (1 - 0.95^n): below 2 after 7 steps, above after 8 (the docstring's claim)."""
    velocities = [float(result[3].velocity) for result in _run(VelocityPoint(), 2.0, [1.0] * 8)]
    np.testing.assert_allclose(velocities, 6.0 * (1.0 - 0.95 ** np.arange(1, 9)), rtol=1e-5)
    assert velocities[6] < 2.0 < velocities[7]


def test_observation_hides_the_target_unless_revealed():
    ((plain_obs, *_),) = _run(VelocityPoint(), 1.7, [1.0])
    ((oracle_obs, *_),) = _run(VelocityPoint(reveal_task=True), 1.7, [1.0])
    np.testing.assert_allclose(plain_obs, [[0.3]], rtol=1e-6)
    np.testing.assert_allclose(oracle_obs, [[0.3, 1.7]], rtol=1e-6)


def test_never_terminates_and_truncates_at_max_steps():
    results = _run(VelocityPoint(max_steps=4), 1.0, [0.0] * 4)
    assert [bool(done) for _, _, done, _ in results] == [False, False, False, True]


@pytest.mark.parametrize(("low", "high"), [(0.0, 2.0), (2.5, 4.0), (-1.0, -0.5)])
def test_targets_fill_the_range(key, low, high):
    env = VelocityPoint(target_low=low, target_high=high)
    targets = np.asarray(jax.vmap(env.sample_task)(jax.random.split(key, 1000)))
    assert targets.min() >= low and targets.max() <= high
    assert targets.min() < low + 0.02 * (high - low) and targets.max() > high - 0.02 * (high - low)


def test_equal_bounds_fix_the_target(key):
    env = VelocityPoint(target_low=3.0, target_high=3.0)
    np.testing.assert_array_equal(jax.vmap(env.sample_task)(jax.random.split(key, 4)), 3.0)


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ({"target_low": 2.0, "target_high": 1.0}, "target_high"),
        ({"target_low": float("inf")}, "target_low"),
        ({"dt": 0.0}, "dt"),
        ({"drag": -0.1}, "drag"),
        ({"ctrl_cost": -1.0}, "ctrl_cost"),
    ],
)
def test_bad_settings_are_config_errors(setting, field):
    with pytest.raises(ConfigError, match=field):
        VelocityPoint(**setting)
