"""What the shared agent network reads: the env's observation plus the agent's id.

With parameter sharing every agent runs the same network, so the id is what lets agents
behave differently: a one-hot appended to vector observations, or one extra channel holding
the agent's index in id-grid observations (the grid encoder embeds it like any other id).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.spaces import Box, Space


def _is_grid(space: Space) -> bool:
    return isinstance(space, Box) and len(space.shape) == 3


def network_observation_space(space: Box, num_agents: int, agent_ids: bool) -> Box:
    """One agent's observation space as the network sees it (ids included when asked)."""
    if not agent_ids:
        return space
    if _is_grid(space):
        high = max(int(space.high), num_agents - 1)
        return Box(0, high, (*space.shape[:2], space.shape[2] + 1), space.dtype)
    low = min(float(space.low), 0.0)
    high = max(float(space.high), 1.0)
    return Box(low, high, (space.shape[0] + num_agents,), "float32")


def with_agent_ids(obs: jax.Array, space: Box, agent_ids: bool) -> jax.Array:
    """Add each agent's id to its observation.

    Args:
        obs: [*batch, N, *obs_shape] with agents on the axis before the observation's own.
        space: one agent's (env) observation space.

    Returns:
        [*batch, N, *network_obs_shape]: obs unchanged without `agent_ids`; else a one-hot
        f32[N] appended to vectors, or a channel filled with the agent's index for grids.
    """
    if not agent_ids:
        return obs
    rank = len(space.shape)
    num_agents = obs.shape[obs.ndim - rank - 1]
    batch = obs.shape[: obs.ndim - rank]
    if _is_grid(space):
        index = jnp.arange(num_agents, dtype=obs.dtype).reshape(num_agents, 1, 1, 1)
        channel = jnp.broadcast_to(index, (*batch, *space.shape[:2], 1))
        return jnp.concatenate([obs, channel], axis=-1)
    one_hot = jnp.broadcast_to(jnp.eye(num_agents, dtype=jnp.float32), (*batch, num_agents))
    return jnp.concatenate([obs.astype(jnp.float32), one_hot], axis=-1)
