"""Pictures of the grid-return world."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.geometry import scatter_units
from marlax.envs.grid.render import cell_pixels, draw_cell_outline, render_grid
from marlax.envs.grid.tiles import Unit
from marlax.envs.grid_return.types import State

FROZEN_OUTLINE = (230, 60, 40)
"""Outline colour of agents frozen by a dig."""


def render_state(state: State) -> jax.Array:
    """Terrain with agents inset in their cells; frozen agents get a red outline.

    Returns:
        u8[H * px, W * px, 3] with px from `cell_pixels` (a multiple of 16).
    """
    width, height = state.terrain.shape
    cell_px = cell_pixels(width, height)
    codes = jnp.full(state.positions.shape[:1], Unit.AGENT, jnp.int32)
    units = scatter_units(codes, state.positions, width, height)
    image = render_grid(state.terrain.astype(jnp.int32), units, cell_px)

    def _outline(image: jax.Array, agent: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, None]:
        """Carry: the image; scanned: (position i32[2], frozen i32[]) of one agent."""
        position, frozen = agent
        outlined = draw_cell_outline(image, position, height, cell_px, FROZEN_OUTLINE)
        return jnp.where(frozen > 0, outlined, image), None

    image, _ = jax.lax.scan(_outline, image, (state.positions, state.frozen))
    return image
