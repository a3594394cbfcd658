"""State of the grid-return world."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class State:
    """Map, agents and the per-episode teleport cells.

    The treasure is the one `Tile.TREASURE` cell of `terrain`; it never moves.
    """

    terrain: jax.Array  # i8[W, H] Tile ids (EMPTY, WALL, DIGGABLE_WALL, TREASURE)
    positions: jax.Array  # i32[N, 2] agent cells (x, y), always inside the border
    facing: jax.Array  # i32[N] last move direction 0..3 (up, right, down, left); DIG digs there
    frozen: jax.Array  # i32[N] steps left in a dig freeze (0 = free to act)
    teleport_cells: jax.Array  # i32[P, 2] empty cells drawn at reset; treasure finders land here
    step: jax.Array  # i32[] steps taken in this episode
