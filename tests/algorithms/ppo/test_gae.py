"""GAE with bootstrapping through truncation: hand-computed values and a loop reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.common.gae import gae, next_values


def test_three_step_gae_by_hand():
    # gamma = 0.5, lambda = 0.5, no episode end:
    # delta = r + 0.5 * V_next - V = [1 + 1 - 1, 0 + 1.5 - 2, 2 + 2 - 3] = [1, -0.5, 1]
    # A_2 = 1; A_1 = -0.5 + 0.25 * 1 = -0.25; A_0 = 1 + 0.25 * -0.25 = 0.9375
    reward = jnp.array([1.0, 0.0, 2.0])
    value = jnp.array([1.0, 2.0, 3.0])
    done = jnp.zeros(3, bool)
    next_value = next_values(value, jnp.array(4.0), jnp.zeros(3), done, done)
    np.testing.assert_allclose(next_value, [2.0, 3.0, 4.0])
    advantages, targets = gae(reward, value, next_value, done, 0.5, 0.5)
    np.testing.assert_allclose(advantages, [0.9375, -0.25, 1.0])
    np.testing.assert_allclose(targets, [1.9375, 1.75, 4.0])


def test_truncation_bootstraps_from_final_value_and_termination_does_not():
    value = jnp.array([1.0, 2.0, 3.0])
    final_value = jnp.array([10.0, 20.0, 30.0])
    done = jnp.array([True, True, False])
    terminated = jnp.array([False, True, False])
    # step 0 truncated -> V(final_obs_0) = 10; step 1 terminated -> 0; step 2 -> last value 4
    next_value = next_values(value, jnp.array(4.0), final_value, done, terminated)
    np.testing.assert_allclose(next_value, [10.0, 0.0, 4.0])
    # the recursion stops at each end: A_t = delta_t where done_t
    reward = jnp.array([1.0, 1.0, 1.0])
    advantages, _ = gae(reward, value, next_value, done, 0.9, 0.95)
    np.testing.assert_allclose(advantages[:2], [1.0 + 9.0 - 1.0, 1.0 - 2.0], rtol=1e-6)


def _loop_reference(reward, value, next_value, done, gamma, lam):
    advantages = np.zeros_like(reward)
    running = 0.0
    for t in reversed(range(len(reward))):
        delta = reward[t] + gamma * next_value[t] - value[t]
        running = delta + gamma * lam * (1.0 - done[t]) * running
        advantages[t] = running
    return advantages


def test_scan_equals_python_loop_and_jit(key):
    keys = jax.random.split(key, 4)
    reward = jax.random.normal(keys[0], (17,))
    value = jax.random.normal(keys[1], (17,))
    next_value = jax.random.normal(keys[2], (17,))
    done = jax.random.bernoulli(keys[3], 0.2, (17,))
    expected = _loop_reference(*map(np.asarray, (reward, value, next_value, done)), 0.99, 0.9)
    advantages, _ = gae(reward, value, next_value, done, 0.99, 0.9)
    jitted, _ = jax.jit(gae, static_argnums=(4, 5))(reward, value, next_value, done, 0.99, 0.9)
    np.testing.assert_allclose(advantages, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(advantages, jitted)


def test_single_step_trajectory():
    advantages, targets = gae(
        jnp.array([2.0]), jnp.array([1.0]), jnp.array([3.0]), jnp.array([False]), 0.5, 1.0
    )
    np.testing.assert_allclose(advantages, [2.0 + 1.5 - 1.0])
    np.testing.assert_allclose(targets, [2.0 + 1.5])
