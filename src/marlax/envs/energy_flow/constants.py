"""Action ids, neighbourhood offsets and observation channels of the energy-flow world."""

from __future__ import annotations

import enum

import numpy as np

from marlax.envs.grid.tiles import Action as GridAction


class Action(enum.IntEnum):
    """Energy-flow action ids (its own order, not the shared grid one)."""

    WAIT = 0
    LEFT = 1  # x - 1
    RIGHT = 2  # x + 1
    UP = 3  # y + 1
    DOWN = 4  # y - 1


NUM_ACTIONS = len(Action)

# energy-flow action id -> shared grid action id (for `grid.geometry.move_targets`)
TO_GRID_ACTION = np.array(
    [GridAction.STAY, GridAction.LEFT, GridAction.RIGHT, GridAction.UP, GridAction.DOWN],
    dtype=np.int32,
)

# (dx, dy) of the cells an agent absorbs from: its own cell, then its 4 neighbours
ABSORB_OFFSETS = np.array([[0, 0], [-1, 0], [1, 0], [0, 1], [0, -1]], dtype=np.int32)


class Channel(enum.IntEnum):
    """Channels of one observed cell, each in [0, 1]."""

    ENERGY = 0  # cell energy / cell_capacity
    SUPPLY = 1  # min(per-step replenishment / cell_capacity, 1)
    OTHERS = 2  # other agents on the cell / num_agents
    OFF_MAP = 3  # 1 beyond the map edge
    STORED = 4  # own stored energy / agent_capacity (the same in every cell)


NUM_CHANNELS = len(Channel)
