"""The phases of one battle step, each O(N) in the agents (no N x N array anywhere).

Agents meet through a flat occupancy grid `i32[W*H]` (agent index + 1, 0 = empty): an
attack reads the occupant of the cell it aims at, damage is a scatter-add onto the victims,
and move conflicts and the kill credit go to the highest per-step priority by a
scatter-max. Priorities are unique (random high bits, the agent index in the low bits), so
every conflict has exactly one winner, fixed by the step key.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.battle.constants import (
    ATTACK_BASE,
    ATTACK_DELTAS,
    DAMAGE,
    MAX_HP,
    MOVE_DELTAS,
    NOOP,
    STEP_RECOVER,
)


def cell_index(positions: jax.Array, height: int) -> jax.Array:
    """Flat cell ids x * H + y: i32[...] from i32[..., 2]."""
    return positions[..., 0] * height + positions[..., 1]


def _mix32(values: jax.Array) -> jax.Array:
    """u32[...] -> u32[...]: the "lowbias32" integer hash (C. Wellons), a bijection whose
    output bits all depend on every input bit."""
    values = values ^ (values >> 16)
    values = values * jnp.uint32(0x7FEB352D)
    values = values ^ (values >> 15)
    values = values * jnp.uint32(0x846CA68B)
    return values ^ (values >> 16)


def priorities(key: jax.Array, num_agents: int) -> jax.Array:
    """Unique non-negative per-step priorities: i32[N] in random order (the agent index fills
    the low bits, so no two agents tie).

    One random word is drawn from `key` and hashed with each agent index: drawing N words
    with the default threefry generator cost ~30% of a whole step on XLA:CPU.
    """
    index_bits = max(1, int(np.ceil(np.log2(num_agents))))
    seed = jax.random.bits(key, (), jnp.uint32)
    index = jnp.arange(num_agents, dtype=jnp.uint32)
    bits = _mix32(seed ^ _mix32(index + jnp.uint32(0x9E3779B9)))
    high = (bits >> (index_bits + 1)) << index_bits  # leaves bit 31 clear: fits an int32
    return (high | index).astype(jnp.int32)


def occupancy(positions: jax.Array, alive: jax.Array, width: int, height: int) -> jax.Array:
    """i32[W*H]: index + 1 of the live agent in each cell, 0 where empty.

    Args:
        positions: i32[N, 2] distinct cells of the live agents; alive: bool[N].
    """
    num_cells = width * height
    cells = jnp.where(alive, cell_index(positions, height), num_cells)  # dead: dropped
    index = jnp.arange(1, positions.shape[0] + 1, dtype=jnp.int32)
    return jnp.zeros((num_cells,), jnp.int32).at[cells].set(index, mode="drop")


class Attacks(NamedTuple):
    """What the attack phase did (all bool[N] except `hp`)."""

    attacked: jax.Array  # the agent chose an attack (alive at the start of the step)
    hit: jax.Array  # ... and the cell it aimed at held an enemy
    killed: jax.Array  # ... and it is the one attacker credited with that enemy's death
    died: jax.Array  # the agent died in this phase
    hp: jax.Array  # i32[N] HP after the damage (negative for the dead)


def resolve_attacks(
    positions: jax.Array,
    alive: jax.Array,
    teams: jax.Array,
    actions: jax.Array,
    hp: jax.Array,
    priority: jax.Array,
    grid: jax.Array,
    height: int,
) -> Attacks:
    """All attacks land at once on the agents present at the start of the step.

    An attack aims at one of the 8 neighbour cells; it hits if a live enemy stands there
    (an empty cell, a wall or a team-mate: no effect but the attack penalty). Each hit
    removes `DAMAGE`; an agent whose HP drops below 0 dies (magent2: `hp < 0`, so full HP
    takes 6 hits). Of the attackers that hit an agent that died, the one with the highest
    priority gets the kill credit.

    Args:
        positions: i32[N, 2]; alive: bool[N]; teams: i32[N]; actions: i32[N] in 0..20;
        hp: i32[N]; priority: i32[N] unique; grid: i32[W*H] from `occupancy`; height: H.
    """
    num_agents = positions.shape[0]
    attacked = alive & (actions >= ATTACK_BASE)
    delta = jnp.asarray(ATTACK_DELTAS)[jnp.clip(actions - ATTACK_BASE, 0, len(ATTACK_DELTAS) - 1)]
    # live agents stand inside the border, so a neighbour cell is always on the map
    victim = grid[cell_index(positions + delta, height)] - 1
    safe_victim = jnp.maximum(victim, 0)
    hit = attacked & (victim >= 0) & (teams[safe_victim] != teams)
    target = jnp.where(hit, victim, num_agents)  # misses: dropped
    damage = jnp.zeros((num_agents,), jnp.int32).at[target].add(DAMAGE, mode="drop")
    hp_after = hp - damage
    died = alive & (hp_after < 0)
    fatal = hit & died[safe_victim]
    best = jnp.full((num_agents,), -1, jnp.int32)
    best = best.at[jnp.where(fatal, victim, num_agents)].max(priority, mode="drop")
    killed = fatal & (best[safe_victim] == priority)
    return Attacks(attacked=attacked, hit=hit, killed=killed, died=died, hp=hp_after)


def recover(hp: jax.Array, alive: jax.Array) -> jax.Array:
    """i32[N]: live agents regain `STEP_RECOVER` up to `MAX_HP`; the dead hold 0."""
    return jnp.where(alive, jnp.minimum(hp + STEP_RECOVER, MAX_HP), 0)


def resolve_moves(
    positions: jax.Array,
    alive: jax.Array,
    actions: jax.Array,
    priority: jax.Array,
    grid: jax.Array,
    width: int,
    height: int,
) -> jax.Array:
    """Simultaneous moves of the live agents by their action's (dx, dy) (up to 2 cells).

    A move fails if its target is a border wall or a cell occupied at the start of the move
    phase (by a live agent, even one that moves away this step: no following, no swaps).
    Several agents moving into the same free cell: the highest priority enters, the others
    stay. Jumps of 2 cells pass over anything in between (as in magent2).

    Args:
        positions: i32[N, 2]; alive: bool[N] (after the attack phase); actions: i32[N];
        priority: i32[N] unique; grid: i32[W*H] occupancy of the live agents; width, height.

    Returns:
        i32[N, 2] new positions.
    """
    num_cells = width * height
    moving = alive & (actions < ATTACK_BASE) & (actions != NOOP)
    delta = jnp.asarray(MOVE_DELTAS)[jnp.clip(actions, 0, len(MOVE_DELTAS) - 1)]
    targets = positions + delta
    x, y = targets[:, 0], targets[:, 1]
    inside = (x >= 1) & (x <= width - 2) & (y >= 1) & (y <= height - 2)
    top = jnp.asarray([[width - 1, height - 1]], jnp.int32)
    cells = cell_index(jnp.clip(targets, 0, top), height)
    valid = moving & inside & (grid[cells] == 0)
    claims = jnp.full((num_cells,), -1, jnp.int32)
    claims = claims.at[jnp.where(valid, cells, num_cells)].max(priority, mode="drop")
    wins = valid & (claims[cells] == priority)
    return jnp.where(wins[:, None], targets, positions)


def clear_cells(grid: jax.Array, positions: jax.Array, vacate: jax.Array, height: int) -> jax.Array:
    """i32[W*H]: `grid` with the cells of the agents in `vacate` (bool[N]) emptied."""
    cells = jnp.where(vacate, cell_index(positions, height), grid.shape[0])
    return grid.at[cells].set(0, mode="drop")
