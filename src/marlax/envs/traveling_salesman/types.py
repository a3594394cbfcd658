"""State of the traveling salesman grid world."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class TravelingSalesmanState:
    """Everything that changes within an episode (W, H map size; N agents; F flags)."""

    terrain: jax.Array  # i8[W, H] Tile ids: EMPTY, DECOR or FLAG (flags drawn for everyone)
    positions: jax.Array  # i32[N, 2] agent cells (x, y); agents do not block each other
    flag_positions: jax.Array  # i32[F, 2] flag cells (x, y), distinct
    flag_available: jax.Array  # bool[N, F] flags agent i may still take in its current cycle
    step: jax.Array  # i32[] steps taken in this episode
