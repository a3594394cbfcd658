"""Tile and unit ids shared by all grid worlds, so one encoder serves every task."""

from __future__ import annotations

import enum

import numpy as np


class Tile(enum.IntEnum):
    """Terrain ids (observation channel 0)."""

    EMPTY = 0
    WALL = 1  # permanent
    DIGGABLE_WALL = 2
    FLAG = 3
    FLAG_UNLOCKED = 4
    TREASURE = 5
    CONTROL_POINT_NEUTRAL = 6
    CONTROL_POINT_OWN = 7  # held by the observer's team
    CONTROL_POINT_ENEMY = 8  # held by the other team
    DECOR = 9


class Unit(enum.IntEnum):
    """Agent ids (observation channel 1), relative to the observer."""

    NONE = 0
    SELF = 1
    AGENT = 2  # another agent of a game without teams
    ALLY = 3
    ENEMY = 4
    SCOUT = 5
    HARVESTER = 6


NUM_TILES = len(Tile)
NUM_UNITS = len(Unit)


class Action(enum.IntEnum):
    """Grid-world action ids."""

    UP = 0
    RIGHT = 1
    DOWN = 2
    LEFT = 3
    STAY = 4
    ATTACK = 5
    DIG = 6


NUM_ACTIONS = len(Action)

# (dx, dy) of UP, RIGHT, DOWN, LEFT; "up" is y+1.
DIRECTIONS = np.array([[0, 1], [1, 0], [0, -1], [-1, 0]], dtype=np.int32)

TILE_COLORS = np.array(
    [
        [236, 232, 220],  # EMPTY
        [60, 60, 70],  # WALL
        [150, 110, 70],  # DIGGABLE_WALL
        [230, 190, 30],  # FLAG
        [120, 220, 90],  # FLAG_UNLOCKED
        [250, 210, 40],  # TREASURE
        [200, 200, 200],  # CONTROL_POINT_NEUTRAL
        [120, 160, 240],  # CONTROL_POINT_OWN (blue team in a global picture)
        [240, 130, 120],  # CONTROL_POINT_ENEMY (red team in a global picture)
        [214, 222, 200],  # DECOR
    ],
    dtype=np.uint8,
)

UNIT_COLORS = np.array(
    [
        [0, 0, 0],  # NONE (not drawn)
        [20, 20, 20],  # SELF
        [40, 90, 200],  # AGENT
        [40, 90, 200],  # ALLY (blue)
        [200, 50, 50],  # ENEMY (red)
        [60, 170, 200],  # SCOUT
        [130, 70, 160],  # HARVESTER
    ],
    dtype=np.uint8,
)
