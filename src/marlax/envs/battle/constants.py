"""Rules and layout constants of `battle`, taken from magent2's `battle_v4`.

magent2 registers one agent type "small" for both teams: hp 10, damage 2, step_recover 0.1,
speed 2 (moves to any cell within distance 2), attack range `CircleRange(1.5)` (the 8
neighbours), view range `CircleRange(6)`. HP is kept here in tenths so that the 0.1
recovery is exact integer arithmetic: `MAX_HP = 100` tenths is magent2's 10 HP.
"""

from __future__ import annotations

import numpy as np

MAX_HP = 100
"""Full hit points, in tenths of magent2's HP (magent2: 10)."""
DAMAGE = 20
"""HP one attack removes, in tenths (magent2: 2)."""
STEP_RECOVER = 1
"""HP every live agent regains per step after the attacks, in tenths (magent2: 0.1)."""
HP_PER_UNIT = 10
"""Tenths per magent2 HP unit (team HP totals in `info` are in magent2 units)."""


def _circle_offsets(radius: float, include_centre: bool) -> np.ndarray:
    """(dx, dy) of the cells within `radius`, in magent2's `CircleRange` order (dy, then dx).

    magent2 enumerates rows (dy) outer and columns (dx) inner and keeps `dist < radius + eps`;
    its action ids are indices into this list, so the order fixes the action meanings.
    """
    reach = int(radius)
    offsets = [
        (dx, dy)
        for dy in range(-reach, reach + 1)
        for dx in range(-reach, reach + 1)
        if dx * dx + dy * dy < radius * radius + 1e-8 and (include_centre or (dx, dy) != (0, 0))
    ]
    return np.asarray(offsets, np.int32)


MOVE_DELTAS = _circle_offsets(2.0, include_centre=True)
"""i32[13, 2]: (dx, dy) of move actions 0..12 (magent2's `move_range = CircleRange(2)`)."""
ATTACK_DELTAS = _circle_offsets(1.5, include_centre=False)
"""i32[8, 2]: (dx, dy) of attack actions 13..20 (magent2's `attack_range = CircleRange(1.5)`)."""
NUM_MOVES = len(MOVE_DELTAS)
ATTACK_BASE = NUM_MOVES
"""Action id of the first attack (magent2: moves first, then attacks; no turn actions)."""
NUM_ACTIONS = NUM_MOVES + len(ATTACK_DELTAS)
"""21, as magent2's battle_v4."""
NOOP = int(np.flatnonzero((MOVE_DELTAS == 0).all(axis=1))[0])
"""Action 6: the move by (0, 0), magent2's "do nothing"; the only legal action of a dead agent."""

# observation channels: magent2's view channels (0-4), then cell coordinates and the team
CHANNEL_WALL = 0
CHANNEL_OWN = 1
CHANNEL_OWN_HP = 2
CHANNEL_ENEMY = 3
CHANNEL_ENEMY_HP = 4
CHANNEL_X = 5
CHANNEL_Y = 6
CHANNEL_TEAM = 7
NUM_CHANNELS = 8
OBS_DTYPES = ("uint8", "float32")
"""uint8: values 0..255; float32: the same values / 255 (magent2's scale: presence 0/1, hp/max)."""
OPPONENTS = ("self_play", "scripted")

SPAWN_GAP = 2
"""A team's start block ends this many columns short of the map's middle column."""
MAX_AGENTS_PER_SIDE = 1 << 19
"""Agent indices fill the low bits of the per-step priority (an int32): at most 2^20 agents."""

TEAM_COLORS = np.array([[200, 50, 50], [40, 90, 200]], np.uint8)
"""Team 0 red (magent2's "red" group, left), team 1 blue (right)."""
