"""Picture of a king of the hill state (team 0 blue, team 1 red)."""

from __future__ import annotations

import jax

from marlax.envs.grid.render import cell_pixels, render_grid
from marlax.envs.king_of_the_hill.observe import UNIT_SHIFT, absolute_layers
from marlax.envs.king_of_the_hill.types import KingOfTheHillState


def render_state(state: KingOfTheHillState, teams: jax.Array) -> jax.Array:
    """Terrain, control points in their holder's colour, agents in their team's colour.

    Args:
        state: the env state; teams: i32[N].

    Returns:
        u8[H*px, W*px, 3].
    """
    width, height = state.terrain.shape
    tiles, agents = absolute_layers(state, teams)
    units = (agents >> UNIT_SHIFT) & 0b111
    return render_grid(tiles, units, cell_pixels(width, height))
