"""Constants of the coverage world: simple_spread's point-mass physics plus the layout rules."""

from __future__ import annotations

from marlax.envs.simple_spread.constants import (
    ACCEL,
    AGENT_SIZE,
    CONTACT_FORCE,
    CONTACT_MARGIN,
    DAMPING,
    DT,
    MOVES,
    NUM_MOVES,
)

__all__ = [
    "ACCEL",
    "AGENT_SIZE",
    "CONTACT_FORCE",
    "CONTACT_MARGIN",
    "DAMPING",
    "DT",
    "MOVES",
    "NUM_MOVES",
]

REWARDS = ("team", "difference")
"""`Coverage.reward`: the shared team reward G, or each agent's difference reward."""
MAX_ENTITIES = 10_000
"""Largest number of agents or targets a setting accepts (the measured range)."""
COLLISION_DISTANCE = 2 * AGENT_SIZE
"""Two agents collide when their centres are closer than this (simple_spread's 0.3)."""
CONTACT_RANGE = 2 * AGENT_SIZE + 30 * CONTACT_MARGIN
"""Beyond this distance the soft contact force is below 1e-14, so neighbours past it are skipped."""
SPAWN_SPACING = 0.5
"""Agents start on distinct cells of a lattice at least this wide, each within
`(cell - COLLISION_DISTANCE) / 2` of its cell centre: no two agents start in collision."""
TARGET_MARGIN = 0.05
"""Targets are drawn in the inner `1 - 2 * margin` of their lattice cell, away from cell borders
(so a target's grid cell never depends on rounding)."""
TASK_FEATURES = 4
"""F of `tasks`: x and y scaled to [-1, 1], capacity, covered flag."""
TARGET_FEATURES = 5
"""Per observed target: relative x, y, capacity, covered flag, present flag."""
AGENT_FEATURES = 3
"""Per observed agent: relative x, y, present flag."""

AGENT_COLOUR = (70, 70, 170)
"""Agents: simple_spread's blue."""
TARGET_COLOUR = (225, 140, 140)
"""An uncovered target's cover disc."""
COVERED_COLOUR = (140, 210, 140)
"""A covered target's cover disc."""
