"""Egocentric observations of the energy-flow world."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.energy_flow.types import State
from marlax.envs.grid.geometry import egocentric_views


def observe(state: State, cell_capacity: float, agent_capacity: float, view_size: int) -> jax.Array:
    """Each agent's V x V view centred on itself, channels as in `Channel`.

    `obs[i, V//2 + dx, V//2 + dy, c]` describes cell (x_i + dx, y_i + dy); cells beyond
    the edge read 0 except `OFF_MAP`, which reads 1 there.

    Args:
        state: the world; cell_capacity, agent_capacity: normalisers; view_size: odd V.

    Returns:
        f32[N, V, V, NUM_CHANNELS], every entry in [0, 1].
    """
    positions = state.agent_positions
    num_agents = positions.shape[0]
    width, height = state.cell_energy.shape
    radius = view_size // 2

    def _view(layer: jax.Array, pad_value: float) -> jax.Array:
        return egocentric_views(layer, positions, view_size, pad_value)  # [N, V, V]

    energy = _view(state.cell_energy / cell_capacity, 0)
    supply = _view(jnp.minimum(state.supply / cell_capacity, 1.0), 0)
    counts = jnp.zeros((width, height), jnp.float32).at[positions[:, 0], positions[:, 1]].add(1.0)
    centre = jnp.zeros((view_size, view_size), jnp.float32).at[radius, radius].set(1.0)
    others = (_view(counts, 0) - centre[None]) / num_agents  # the agent itself is not "other"
    off_map = _view(jnp.zeros((width, height), jnp.float32), 1)
    stored = jnp.broadcast_to(
        (state.agent_energy / agent_capacity)[:, None, None], (num_agents, view_size, view_size)
    )
    return jnp.stack([energy, supply, others, off_map, stored], axis=-1)
