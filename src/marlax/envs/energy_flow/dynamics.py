"""One step of the energy-flow world: moves, absorption (energy-conserving), replenishment."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from marlax.envs.energy_flow.constants import ABSORB_OFFSETS, TO_GRID_ACTION
from marlax.envs.grid.geometry import clip_to_map, in_bounds, move_targets


def move_agents(positions: jax.Array, actions: jax.Array, width: int, height: int) -> jax.Array:
    """Apply energy-flow actions; a move off the map leaves the agent where it is.

    Agents may share a cell (they compete for its energy instead of blocking).

    Args:
        positions: i32[N, 2]; actions: i32[N] (0 wait, 1 left, 2 right, 3 up, 4 down).

    Returns:
        i32[N, 2].
    """
    targets = move_targets(positions, jnp.asarray(TO_GRID_ACTION)[actions])
    return jnp.where(in_bounds(targets, width, height)[:, None], targets, positions)


class Absorption(NamedTuple):
    """Outcome of one absorption step."""

    cell_energy: jax.Array  # f32[W, H] after absorption
    agent_energy: jax.Array  # f32[N] after absorption, <= agent_capacity
    absorbed: jax.Array  # f32[N] energy each agent took this step
    removed: jax.Array  # f32[W, H] energy each cell gave up this step


def absorb(
    cell_energy: jax.Array,
    agent_energy: jax.Array,
    positions: jax.Array,
    absorb_rate: float,
    agent_capacity: float,
) -> Absorption:
    """Agents draw energy from their cell and its 4 neighbours, conserving energy.

    Each cell c offers `absorb_rate * E(c)` in total, split equally among the k_c
    agents drawing from it (own cell or neighbour alike). Agent i is offered
    `o_i = sum over its (on-map) cells of absorb_rate * E(c) / k_c` and takes
    `a_i = min(o_i, agent_capacity - stored_i)`, i.e. the same fraction
    `a_i / o_i` of every share it was offered; what it leaves stays in the cell.
    So `sum_i a_i == sum_c removed_c` and no cell gives more than `absorb_rate * E(c)`.

    Args:
        cell_energy: f32[W, H]; agent_energy: f32[N]; positions: i32[N, 2].
        absorb_rate: in (0, 1]; agent_capacity: > 0.

    Returns:
        Absorption.
    """
    width, height = cell_energy.shape
    cells = positions[:, None, :] + jnp.asarray(ABSORB_OFFSETS)[None, :, :]  # [N, 5, 2]
    on_map = in_bounds(cells, width, height)  # [N, 5]
    cells = clip_to_map(cells, width, height)
    cell_x, cell_y = cells[..., 0], cells[..., 1]
    claimants = jnp.zeros((width, height)).at[cell_x, cell_y].add(on_map.astype(jnp.float32))
    share = absorb_rate * cell_energy / jnp.maximum(claimants, 1.0)  # f32[W, H]
    offered = jnp.where(on_map, share[cell_x, cell_y], 0.0)  # f32[N, 5]
    offer = offered.sum(axis=-1)
    # cap first, then derive what was taken, so stored energy never exceeds the cap
    new_agent_energy = jnp.minimum(agent_energy + offer, agent_capacity)
    absorbed = new_agent_energy - agent_energy
    taken = jnp.clip(jnp.where(offer > 0, absorbed / jnp.maximum(offer, 1e-30), 0.0), 0.0, 1.0)
    removed = jnp.zeros((width, height)).at[cell_x, cell_y].add(offered * taken[:, None])
    # rounding can leave -1 ulp where absorb_rate = 1; energy is never negative
    new_cell_energy = jnp.maximum(cell_energy - removed, 0.0)
    return Absorption(new_cell_energy, new_agent_energy, absorbed, removed)


def burn(agent_energy: jax.Array, metabolism: float) -> jax.Array:
    """Each agent spends `metabolism` of its stored energy per step (not below 0): f32[N]."""
    return jnp.maximum(agent_energy - metabolism, 0.0)


def replenish(
    cell_energy: jax.Array, supply: jax.Array, cell_leak: float, cell_capacity: float
) -> jax.Array:
    """`E <- min((1 - cell_leak) * E + supply, cell_capacity)` for every cell: f32[W, H].

    Left alone, a cell settles at `resting_energy` = min(supply / cell_leak, cell_capacity).
    """
    return jnp.minimum((1.0 - cell_leak) * cell_energy + supply, cell_capacity)


def resting_energy(supply: jax.Array, cell_leak: float, cell_capacity: float) -> jax.Array:
    """The fixed point of `replenish`: f32[W, H] (every cell full when nothing leaks)."""
    if cell_leak == 0.0:  # static setting: without a leak every cell fills up
        return jnp.full(supply.shape, cell_capacity, jnp.float32)
    return jnp.minimum(supply / cell_leak, cell_capacity)
