"""State of the battle world."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class BattleState:
    """Both teams' agents (K = agents_per_side, 2K rows: team 0 first, then team 1).

    The map has walls only on its border ring (as magent2's battle_v4), so it is not stored.
    A dead agent keeps its last position and hp 0 but occupies no cell.
    """

    positions: jax.Array  # i32[2K, 2] cells (x, y), inside the border
    hp: jax.Array  # i32[2K] hit points in tenths, 0..MAX_HP (0 for dead agents)
    alive: jax.Array  # bool[2K]
    step: jax.Array  # i32[] steps taken in this episode
