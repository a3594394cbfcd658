"""The scripted coverage probe (`benchmarks/coverage_scripted.py`) on cases known by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tests.benchmarks.loader import load_benchmark


def test_each_agent_takes_the_move_along_its_offset_and_stops_when_close():
    """Moves 0 no-op, 1 left, 2 right, 3 down, 4 up; the larger axis of the offset wins."""
    offsets = jnp.asarray([[-2.0, 0.5], [3.0, -1.0], [0.2, -0.9], [0.1, 0.4], [0.01, 0.02]])
    actions = load_benchmark("coverage_scripted").move_towards(offsets, 0.1)
    np.testing.assert_array_equal(actions, [1, 2, 3, 4, 0])


def test_the_matching_minimises_total_squared_distance():
    """Agents at x = 0 and x = 1, targets at x = 1.1 and x = -0.2: agent 0 -> x = -0.2 and
    agent 1 -> x = 1.1 costs 0.04 + 0.01, the other way 1.21 + 1.44."""
    probe = load_benchmark("coverage_scripted")
    env = probe.make_env(2)
    _, state = env.reset(jax.random.key(0))
    state = state.replace(
        agent_pos=jnp.asarray([[0.0, 0.0], [1.0, 0.0]]),
        target_pos=jnp.asarray([[1.1, 0.0], [-0.2, 0.0]]),
    )
    np.testing.assert_array_equal(probe.matching(env, state), [1, 0])
    # here each agent's nearest target is its matched one
    nearest = probe.nearest_offsets(env, state)
    np.testing.assert_allclose(nearest, [[-0.2, 0.0], [0.1, 0.0]], atol=1e-6)


def test_the_matching_resolves_a_shared_nearest_target():
    """Agents at x = 0 and x = 0.3 both have the target at x = 0.2 nearest; the matching sends
    agent 0 to x = -1 instead (1.0 + 0.01 = 1.01 against 0.04 + 1.69 = 1.73)."""
    probe = load_benchmark("coverage_scripted")
    env = probe.make_env(2)
    _, state = env.reset(jax.random.key(0))
    state = state.replace(
        agent_pos=jnp.asarray([[0.0, 0.0], [0.3, 0.0]]),
        target_pos=jnp.asarray([[0.2, 0.0], [-1.0, 0.0]]),
    )
    np.testing.assert_array_equal(probe.matching(env, state), [1, 0])
    nearest = probe.nearest_offsets(env, state)
    np.testing.assert_allclose(nearest, [[0.2, 0.0], [-0.1, 0.0]], atol=1e-6)
