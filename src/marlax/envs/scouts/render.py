"""Pictures of the scouts world."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.geometry import scatter_units
from marlax.envs.grid.render import cell_pixels, render_grid
from marlax.envs.scouts.types import State


def render_state(state: State, roles: jax.Array) -> jax.Array:
    """Terrain (locked and unlocked flags) with scouts and harvesters inset in their cells.

    Args:
        state: State.
        roles: i32[N] `Unit.SCOUT` or `Unit.HARVESTER` per agent.

    Returns:
        u8[H * px, W * px, 3] with px from `cell_pixels` (a multiple of 16).
    """
    width, height = state.terrain.shape
    units = scatter_units(roles, state.positions, width, height)
    return render_grid(state.terrain.astype(jnp.int32), units, cell_pixels(width, height))
