"""Start cells on walled maps: distinct empty cells inside the border."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.geometry import sample_cells
from marlax.envs.grid.noise import border_mask
from marlax.envs.grid.tiles import Tile


def spawn_cells(key: jax.Array, terrain: jax.Array, count: int) -> jax.Array:
    """`count` distinct cells drawn uniformly among the empty cells inside the border.

    If the map has fewer than `count` empty inner cells (a very dense noise draw),
    the draw falls back to all inner cells; the caller then carves the chosen cells
    empty, so an episode is always playable. The env's constructor guarantees
    `count <= (W - 2) * (H - 2)`.

    Args:
        key: PRNG key.
        terrain: i8[W, H] Tile ids, `Tile.WALL` on the border.
        count: number of cells.

    Returns:
        i32[count, 2] positions (x, y).
    """
    width, height = terrain.shape
    inner = ~border_mask(width, height)
    free = inner & (terrain == Tile.EMPTY)
    enough = jnp.sum(free) >= count
    return sample_cells(key, free | (inner & ~enough), count, replace=False)
