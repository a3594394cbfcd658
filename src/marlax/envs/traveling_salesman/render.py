"""Picture of a traveling salesman state."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.geometry import scatter_units
from marlax.envs.grid.render import cell_pixels, draw_cell_outline, render_grid
from marlax.envs.grid.tiles import Unit
from marlax.envs.traveling_salesman.types import TravelingSalesmanState

_OUTLINE = (20, 20, 20)


def render_state(state: TravelingSalesmanState) -> jax.Array:
    """Map, flags and agents; agent 0 is outlined (u8[H*px, W*px, 3]).

    Flags are drawn whatever their per-agent availability, as the agents see them.
    """
    width, height = state.terrain.shape
    units = scatter_units(
        jnp.full(state.positions.shape[0], Unit.AGENT, jnp.int32), state.positions, width, height
    )
    cell_px = cell_pixels(width, height)
    image = render_grid(state.terrain.astype(jnp.int32), units, cell_px)
    return draw_cell_outline(image, state.positions[0], height, cell_px, _OUTLINE)
