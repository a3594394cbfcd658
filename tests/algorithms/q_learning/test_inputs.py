"""Agent ids appended to what the shared network reads."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from marlax.algorithms.q_learning.inputs import network_observation_space, with_agent_ids
from marlax.envs.spaces import Box


def test_vector_observations_get_a_one_hot_id():
    space = Box(-1.0, 1.0, (2,), "float32")
    obs = jnp.arange(2 * 3 * 2, dtype=jnp.float32).reshape(2, 3, 2)  # [B, N, D]
    out = with_agent_ids(obs, space, True)
    assert out.shape == (2, 3, 5)
    np.testing.assert_array_equal(out[..., :2], obs)
    np.testing.assert_array_equal(out[1, :, 2:], np.eye(3))
    assert network_observation_space(space, 3, True).shape == (5,)


def test_grid_observations_get_an_id_channel():
    space = Box(0, 7, (3, 3, 2), "int32")
    obs = jnp.ones((4, 2, 3, 3, 2), jnp.int32)  # [T, N, V, V, C]
    out = with_agent_ids(obs, space, True)
    assert out.shape == (4, 2, 3, 3, 3)
    np.testing.assert_array_equal(out[:, 0, ..., 2], 0)
    np.testing.assert_array_equal(out[:, 1, ..., 2], 1)
    assert network_observation_space(space, 9, True).high == 8


def test_no_ids_leaves_observations_alone():
    space = Box(-1.0, 1.0, (2,), "float32")
    obs = jnp.ones((3, 2))
    assert with_agent_ids(obs, space, False) is obs
    assert network_observation_space(space, 3, False) is space
