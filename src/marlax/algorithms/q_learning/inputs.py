"""What the shared agent network reads: the env's observation plus the agent's id.

With parameter sharing every agent runs the same network, so the id is what lets agents
behave differently:
- vector observations get a one-hot f32[N] appended (N extra inputs per agent);
- integer id grids (the "grid" encoder) get one more channel holding the agent's index, in a
  dtype wide enough for it (u8/i8 grids become i32 past 256/128 agents; the grid encoder
  embeds it like any other id, so its tables grow to N rows);
- images (float, or u8 intensities 0..255: the "image" encoder) become f32 (u8 as
  bytes / 255, which is what the image encoder reads anyway) with one more channel holding
  index / (N - 1) in [0, 1], the scale of the other channels, for any N.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.spaces import Box, Space
from marlax.models.registry import encoder_for_space


def _is_rank3(space: Space) -> bool:
    return isinstance(space, Box) and len(space.shape) == 3


def _is_image(space: Box) -> bool:
    return encoder_for_space(space) == "image"


def _id_grid_dtype(space: Box, num_agents: int) -> str:
    """The grid's dtype if it holds ids up to N - 1, else int32."""
    if num_agents - 1 <= np.iinfo(np.dtype(space.dtype)).max:
        return space.dtype
    return "int32"


def network_observation_space(space: Box, num_agents: int, agent_ids: bool) -> Box:
    """One agent's observation space as the network sees it (ids included when asked)."""
    if not agent_ids:
        return space
    if _is_rank3(space):
        shape = (*space.shape[:2], space.shape[2] + 1)
        if _is_image(space):
            high = 1.0 if np.dtype(space.dtype) == np.uint8 else max(float(space.high), 1.0)
            low = 0.0 if np.dtype(space.dtype) == np.uint8 else min(float(space.low), 0.0)
            return Box(low, high, shape, "float32")
        high = max(int(space.high), num_agents - 1)
        return Box(0, high, shape, _id_grid_dtype(space, num_agents))
    low = min(float(space.low), 0.0)
    high = max(float(space.high), 1.0)
    return Box(low, high, (space.shape[0] + num_agents,), "float32")


def with_agent_ids(obs: jax.Array, space: Box, agent_ids: bool) -> jax.Array:
    """Add each agent's id to its observation.

    Args:
        obs: [*batch, N, *obs_shape] with agents on the axis before the observation's own.
        space: one agent's (env) observation space.

    Returns:
        [*batch, N, *network_obs_shape] in `network_observation_space`'s dtype: obs unchanged
        without `agent_ids`; else a one-hot f32[N] appended to vectors, a channel holding the
        agent's index for id grids, or a channel holding index / (N - 1) for images.
    """
    if not agent_ids:
        return obs
    rank = len(space.shape)
    num_agents = obs.shape[obs.ndim - rank - 1]
    batch = obs.shape[: obs.ndim - rank]
    if _is_rank3(space):
        index = jnp.arange(num_agents).reshape(num_agents, 1, 1, 1)
        if _is_image(space):
            if obs.dtype == jnp.uint8:
                obs = obs.astype(jnp.float32) * jnp.float32(1.0 / 255.0)
            obs = obs.astype(jnp.float32)
            index = index.astype(jnp.float32) / max(num_agents - 1, 1)
        else:
            dtype = _id_grid_dtype(space, num_agents)
            obs, index = obs.astype(dtype), index.astype(dtype)
        channel = jnp.broadcast_to(index, (*batch, *space.shape[:2], 1))
        return jnp.concatenate([obs, channel], axis=-1)
    one_hot = jnp.broadcast_to(jnp.eye(num_agents, dtype=jnp.float32), (*batch, num_agents))
    return jnp.concatenate([obs.astype(jnp.float32), one_hot], axis=-1)
