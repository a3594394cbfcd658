"""State of the scouts world."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class State:
    """Map and agents; scouts are agents 0..S-1, harvesters S..N-1.

    Harvesters move on the steps whose index `step` (before the step) is a multiple
    of `harvester_move_every`, so the episode clock is all the timing state needed.
    """

    terrain: jax.Array  # i8[W, H] Tile ids (EMPTY, WALL, FLAG, FLAG_UNLOCKED)
    positions: jax.Array  # i32[N, 2] agent cells (x, y), always inside the border
    step: jax.Array  # i32[] steps taken in this episode (the clock; starts at 0)
