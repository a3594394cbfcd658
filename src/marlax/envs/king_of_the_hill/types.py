"""State of the king of the hill grid world."""

from __future__ import annotations

import jax
from flax import struct

NEUTRAL = -1
"""`control_owner` value of a point no team holds (teams are 0 and 1)."""


@struct.dataclass
class KingOfTheHillState:
    """Everything that changes within an episode (W, H map; N = 2 * team_size agents; P points).

    Agents `0 .. team_size-1` form team 0 (spawn row y = 0), the others team 1
    (spawn row y = H-1); start cells are fixed by the settings, not stored.
    """

    terrain: jax.Array  # i8[W, H] Tile ids: EMPTY, DECOR or DIGGABLE_WALL (points not drawn)
    positions: jax.Array  # i32[N, 2] agent cells (x, y)
    facing: jax.Array  # i32[N] direction 0 up, 1 right, 2 down, 3 left (last move action)
    timeout: jax.Array  # i32[N] steps of forced stay still to serve (after a dig)
    control_positions: jax.Array  # i32[P, 2] control point cells (x, y), distinct
    control_owner: jax.Array  # i32[P] team holding each point: 0, 1 or NEUTRAL (-1)
    step: jax.Array  # i32[] steps taken in this episode
