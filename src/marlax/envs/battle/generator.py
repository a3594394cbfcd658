"""Start positions: each team in a square block facing the other across the middle.

magent2's battle_v4 places each team on every other cell of a square block next to the
middle of the map (its `generate_map`). Here the block holds exactly `agents_per_side`
agents for any count, team 1's block mirrors team 0's (x -> W-1-x), and with spacing 2
each agent is shifted by a random (0 or 1, 0 or 1) cell away from the middle at reset,
so episodes differ without a permutation (a sort: slow on XLA:CPU).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.battle.constants import SPAWN_GAP


def block_shape(agents_per_side: int) -> tuple[int, int]:
    """(columns, rows) of a team's block: the smallest near-square that holds K agents."""
    columns = math.ceil(math.sqrt(agents_per_side))
    return columns, math.ceil(agents_per_side / columns)


def block_spacing(agents_per_side: int, map_size: int) -> int:
    """2 (magent2's spacing, with random jitter) if the block fits the map, 1 if only a dense
    block fits, 0 if not even that (the env's constructor reports it)."""
    columns, rows = block_shape(agents_per_side)
    right = map_size // 2 - SPAWN_GAP  # team 0's rightmost slot column
    for spacing in (2, 1):
        jitter = spacing - 1
        left = right - spacing * (columns - 1) - jitter
        height = spacing * (rows - 1) + 1 + jitter
        if left >= 1 and height <= map_size - 2:
            return spacing
    return 0


def max_agents_per_side(map_size: int) -> int:
    """The largest K whose block fits a map of side `map_size` (for error messages).

    A bisection: a block's columns and rows never shrink as K grows, so what fits is a
    prefix 1..K_max.
    """
    low, high = 0, map_size * map_size  # block_spacing(low) > 0 or low == 0; high never fits
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if block_spacing(middle, map_size) > 0 else (low, middle)
    return low


def slot_positions(agents_per_side: int, map_size: int) -> np.ndarray:
    """Fixed slots of both teams before jitter: i32[2K, 2] (x, y), team 0 first.

    Team 0's slots fill columns from the middle outwards (rightmost column first), rows
    bottom to top; team 1's slot i is team 0's slot i mirrored in x.
    """
    spacing = block_spacing(agents_per_side, map_size)
    columns, rows = block_shape(agents_per_side)
    right = map_size // 2 - SPAWN_GAP
    bottom = (map_size - (spacing * (rows - 1) + spacing)) // 2
    index = np.arange(agents_per_side)
    x = right - spacing * (index // rows)
    y = bottom + spacing * (index % rows)
    team0 = np.stack([x, y], axis=-1)
    team1 = np.stack([map_size - 1 - x, y], axis=-1)
    return np.concatenate([team0, team1]).astype(np.int32)


def start_positions(key: jax.Array, agents_per_side: int, map_size: int) -> jax.Array:
    """Slots plus, at spacing 2, a random shift of 0/1 cell outwards in x and up in y.

    Distinct cells always: at spacing 2 each agent stays inside its own 2 x 2 slot.

    Returns:
        i32[2K, 2] (x, y), inside the border.
    """
    slots = jnp.asarray(slot_positions(agents_per_side, map_size))
    if block_spacing(agents_per_side, map_size) == 1:
        return slots
    shift = jax.random.bernoulli(key, 0.5, slots.shape).astype(jnp.int32)
    outwards = jnp.asarray(np.repeat(np.array([-1, 1], np.int32), agents_per_side))
    return slots + shift * jnp.stack([outwards, jnp.ones_like(outwards)], axis=-1)
