"""Episode generation for the coverage world (runs at reset only).

Agents and targets each sit on distinct cells of their own square lattice over the
arena `[-h, h]^2`, one per cell, at a uniform spot inside it. This bounds how many can
share a neighbour-grid cell (exact neighbour queries for targets, no collisions at
reset for agents) while staying close to uniform. Everything comes from one uniform
draw, sliced: each separate draw would add its own random-bits kernel to compile.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp


class Layout(NamedTuple):
    """A fresh episode's layout.

    Attributes:
        agent_pos: f32[N, 2]; target_pos: f32[M, 2]; target_capacity: i32[M].
    """

    agent_pos: jax.Array
    target_pos: jax.Array
    target_capacity: jax.Array


class LatticeSpec(NamedTuple):
    """Where `count` points go: distinct cells of a G x G lattice over `[-h, h]^2`.

    Attributes:
        count: points to place, at most G^2.
        cells_per_side: G.
        inner: each point lies within `inner * cell / 2` of its cell's centre on each axis.
    """

    count: int
    cells_per_side: int
    inner: float


def lattice_cells_per_side(arena_side: float, spacing: float) -> int:
    """G: lattice cells per side, as many as fit with a side of at least `spacing` (>= 1)."""
    return max(1, math.floor(arena_side / spacing + 1e-9))


def lattice_points(uniform: jax.Array, lattice: LatticeSpec, half_side: float) -> jax.Array:
    """Points on distinct lattice cells from `G^2 + 2 count` uniform numbers in [0, 1).

    The first G^2 numbers score the cells: the `count` best are a uniform draw without
    replacement (one `top_k`, cheaper than `random.choice`'s shuffling sorts). The rest
    place each point inside its cell.

    Returns:
        f32[count, 2].
    """
    num_cells = lattice.cells_per_side**2
    _, cells = jax.lax.top_k(uniform[:num_cells], lattice.count)
    spot = (uniform[num_cells:].reshape(lattice.count, 2) - 0.5) * lattice.inner
    corner = jnp.stack([cells // lattice.cells_per_side, cells % lattice.cells_per_side], -1)
    cell_side = 2.0 * half_side / lattice.cells_per_side
    return (-half_side + (corner.astype(jnp.float32) + 0.5 + spot) * cell_side).astype(jnp.float32)


def generate_layout(
    key: jax.Array,
    agents: LatticeSpec,
    targets: LatticeSpec,
    half_side: float,
    capacity_range: tuple[int, int],
) -> Layout:
    """Agents and targets on their lattices; capacities uniform in the inclusive range."""
    sizes = [
        agents.cells_per_side**2 + 2 * agents.count,
        targets.cells_per_side**2 + 2 * targets.count,
        targets.count,
    ]
    uniform = jax.random.uniform(key, (sum(sizes),))
    agent_part, target_part, capacity_part = jnp.split(uniform, [sizes[0], sizes[0] + sizes[1]])
    low, high = capacity_range
    capacity = low + jnp.floor(capacity_part * (high - low + 1)).astype(jnp.int32)
    return Layout(
        agent_pos=lattice_points(agent_part, agents, half_side),
        target_pos=lattice_points(target_part, targets, half_side),
        target_capacity=jnp.minimum(capacity, high),  # u < 1, but guard the float edge
    )
