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


def test_u8_id_grids_widen_past_256_agents():
    """A u8 id grid cannot hold agent 256: the ids channel (and the grid) become i32."""
    space = Box(0, 7, (2, 2, 1), "uint8")
    assert network_observation_space(space, 256, True).dtype == "uint8"
    wide = network_observation_space(space, 300, True)
    assert (wide.dtype, wide.high) == ("int32", 299)
    obs = jnp.full((300, 2, 2, 1), 7, jnp.uint8)  # [N, V, V, C]
    out = with_agent_ids(obs, space, True)
    assert out.dtype == jnp.int32
    np.testing.assert_array_equal(out[:, 0, 0, 1], np.arange(300))
    np.testing.assert_array_equal(out[..., 0], 7)


def test_u8_images_get_a_unit_scaled_id_channel_for_any_team_size():
    """battle's u8 intensities: the network reads bytes / 255 and index / (N - 1), and the
    space stays an image (it used to become an id grid past 256 agents)."""
    from marlax.models.registry import encoder_for_space

    space = Box(0, 255, (3, 3, 2), "uint8")
    for num_agents in (4, 1000):
        net_space = network_observation_space(space, num_agents, True)
        assert (net_space.dtype, net_space.low, net_space.high) == ("float32", 0.0, 1.0)
        assert encoder_for_space(net_space) == "image"
    obs = jnp.full((5, 1000, 3, 3, 2), 51, jnp.uint8)  # [B, N, V, V, C]
    out = with_agent_ids(obs, space, True)
    assert out.shape == (5, 1000, 3, 3, 3) and out.dtype == jnp.float32
    np.testing.assert_allclose(out[..., :2], 0.2, rtol=1e-6)
    np.testing.assert_allclose(out[0, :, 1, 1, 2], np.arange(1000) / 999, rtol=1e-6)
    assert len(np.unique(np.asarray(out[0, :, 0, 0, 2]))) == 1000  # no two agents alike


def test_float_images_get_a_unit_scaled_id_channel():
    space = Box(0.0, 1.0, (2, 2, 3), "float32")
    out = with_agent_ids(jnp.zeros((3, 2, 2, 3)), space, True)
    np.testing.assert_allclose(out[:, 0, 0, 3], [0.0, 0.5, 1.0])
    assert network_observation_space(space, 3, True).high == 1.0


def test_no_ids_leaves_observations_alone():
    space = Box(-1.0, 1.0, (2,), "float32")
    obs = jnp.ones((3, 2))
    assert with_agent_ids(obs, space, False) is obs
    assert network_observation_space(space, 3, False) is space
