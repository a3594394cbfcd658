"""Observations and global pictures of king of the hill.

The world is first drawn once in *absolute* colours (team 0 = ALLY / OWN,
team 1 = ENEMY / ENEMY-held, as in a global picture), packed into one integer
per cell so a single crop serves all channels; each observer of team 1 then
swaps ALLY<->ENEMY and OWN<->ENEMY-held in its own crop. That is cheaper than
drawing one map per team.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.grid.geometry import egocentric_views, scatter_units
from marlax.envs.grid.tiles import Tile, Unit
from marlax.envs.king_of_the_hill.types import KingOfTheHillState

UNIT_SHIFT = 4  # packed cell: tile (4 bits) | unit << 4 (3 bits) | (facing + 1) << 7
FACING_SHIFT = 7
NUM_CHANNELS = 3  # tile, unit, facing (0 none, 1..4 = direction + 1)
_TILE_MASK = (1 << UNIT_SHIFT) - 1
_UNIT_MASK = (1 << (FACING_SHIFT - UNIT_SHIFT)) - 1
_SHIFTS = np.array([0, UNIT_SHIFT, FACING_SHIFT], np.int32)  # unpack channel c: code >> shift
_MASKS = np.array([_TILE_MASK, _UNIT_MASK, 0xFF], np.int32)

# indexed by owner + 1: NEUTRAL (-1), team 0, team 1
_POINT_TILES = np.array(
    [Tile.CONTROL_POINT_NEUTRAL, Tile.CONTROL_POINT_OWN, Tile.CONTROL_POINT_ENEMY], np.int32
)


def absolute_layers(state: KingOfTheHillState, teams: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Terrain with control points, and packed agents, in team-0 colours.

    Args:
        state: the env state; teams: i32[N] team of each agent (0 or 1).

    Returns:
        tiles i32[W, H] (`Tile` ids); agents i32[W, H] (unit << 4 | (facing + 1) << 7, 0 = none).
    """
    width, height = state.terrain.shape
    tiles = state.terrain.astype(jnp.int32)
    points = state.control_positions
    point_tiles = jnp.asarray(_POINT_TILES)[state.control_owner + 1]
    tiles = tiles.at[points[:, 0], points[:, 1]].set(point_tiles)
    unit = jnp.where(teams == 0, Unit.ALLY, Unit.ENEMY)
    packed = (unit << UNIT_SHIFT) | ((state.facing + 1) << FACING_SHIFT)
    return tiles, scatter_units(packed, state.positions, width, height)


def observe(state: KingOfTheHillState, teams: jax.Array, view_size: int) -> jax.Array:
    """Egocentric views relative to each observer's team: i32[N, V, V, 3].

    Channels: 0 `Tile` id (control points OWN / ENEMY / NEUTRAL for the observer,
    WALL off the map), 1 `Unit` id (SELF at the centre, ALLY / ENEMY),
    2 facing of the agent seen there (0 none, 1..4 = up, right, down, left).
    """
    tiles, agents = absolute_layers(state, teams)
    views = egocentric_views(tiles | agents, state.positions, view_size, int(Tile.WALL))
    # relabel in the packed code (elementwise, fused), then unpack once: writing the
    # [N, V, V, 3] result is the expensive part, so it happens in one broadcast op
    tile = views & _TILE_MASK
    unit = (views >> UNIT_SHIFT) & _UNIT_MASK
    swap = (teams == 1)[:, None, None]
    is_point = (tile == Tile.CONTROL_POINT_OWN) | (tile == Tile.CONTROL_POINT_ENEMY)
    point_swap = Tile.CONTROL_POINT_OWN + Tile.CONTROL_POINT_ENEMY - 2 * tile
    views = jnp.where(swap & is_point, views + point_swap, views)
    unit_swap = (Unit.ALLY + Unit.ENEMY - 2 * unit) << UNIT_SHIFT
    views = jnp.where(swap & (unit > 0), views + unit_swap, views)
    centre = np.zeros((view_size, view_size), bool)
    centre[view_size // 2, view_size // 2] = True
    self_code = (views & ~(_UNIT_MASK << UNIT_SHIFT)) | (Unit.SELF << UNIT_SHIFT)
    views = jnp.where(jnp.asarray(centre)[None], self_code, views)
    return _unpack(views)


def global_channels(state: KingOfTheHillState, teams: jax.Array) -> jax.Array:
    """The whole map in team-0 colours: i32[W, H, 3] (tile, unit, facing channels)."""
    tiles, agents = absolute_layers(state, teams)
    return _unpack(tiles | agents)


def _unpack(codes: jax.Array) -> jax.Array:
    """Packed cells i32[...] to channels i32[..., 3] (tile, unit, facing) in one broadcast op."""
    trailing = (1,) * codes.ndim + (NUM_CHANNELS,)
    return (codes[..., None] >> _SHIFTS.reshape(trailing)) & _MASKS.reshape(trailing)
