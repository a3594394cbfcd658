"""World generation at reset: sources, their radiation field, pathways, agents.

Radiation is separable (one outer product per source) and pathways are computed
for one pathway and vmapped: O(S * (W + H) + P * W * H) per reset. Auto-reset
wrappers evaluate `reset` every step, so this cost matters.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.grid.geometry import sample_cells


def _cell_coordinates(width: int, height: int) -> tuple[jax.Array, jax.Array]:
    """x i32[W, 1] and y i32[1, H], broadcasting to a [W, H] map."""
    return jnp.arange(width)[:, None], jnp.arange(height)[None, :]


def _powers(factor: float, distance: jax.Array, width: int, height: int) -> jax.Array:
    """`factor ** distance` for Manhattan distances on a W x H map, read from a static table
    (a gather costs less than `jnp.power` on XLA:CPU): f32[*distance.shape]."""
    table = np.power(np.float64(factor), np.arange(width + height - 1)).astype(np.float32)
    return jnp.asarray(table)[distance]


def radiation_field(
    source_positions: jax.Array,
    source_strengths: jax.Array,
    decay: float,
    width: int,
    height: int,
) -> jax.Array:
    """Energy per step every cell receives from the sources' radiation.

    `E_rad(c) = sum_s strength_s * decay ** manhattan(c, s)`.

    Args:
        source_positions: i32[S, 2]; source_strengths: f32[S]; decay: in (0, 1).
        width, height: map size W, H.

    Returns:
        f32[W, H].
    """
    # decay ** (|dx| + |dy|) = decay ** |dx| * decay ** |dy|: one outer product per source
    x, y = jnp.arange(width), jnp.arange(height)
    along_x = _powers(decay, jnp.abs(x[None, :] - source_positions[:, :1]), width, height)
    along_y = _powers(decay, jnp.abs(y[None, :] - source_positions[:, 1:]), width, height)
    return jnp.einsum("s,sw,sh->wh", source_strengths, along_x, along_y)


def _segment(start: jax.Array, end: jax.Array, width: int, height: int) -> jax.Array:
    """bool[W, H]: the cells of an axis-aligned segment, both ends included."""
    x, y = _cell_coordinates(width, height)
    low, high = jnp.minimum(start, end), jnp.maximum(start, end)
    return (x >= low[0]) & (x <= high[0]) & (y >= low[1]) & (y <= high[1])


def pathway_cells(
    start: jax.Array, end: jax.Array, horizontal_first: jax.Array, width: int, height: int
) -> tuple[jax.Array, jax.Array]:
    """An L-shaped (or straight) corridor from `start` to `end`, `start` itself excluded.

    It runs along x first, then along y, when `horizontal_first`; else y first.
    Each leg moves monotonically, so a cell's distance along the corridor equals
    its Manhattan distance from `start`.

    Args:
        start, end: i32[2] (x, y); horizontal_first: bool[].

    Returns:
        on_path: bool[W, H]; steps: i32[W, H] distance from `start` along the path.
    """
    corner = jnp.where(
        horizontal_first, jnp.stack([end[0], start[1]]), jnp.stack([start[0], end[1]])
    )
    on_path = _segment(start, corner, width, height) | _segment(corner, end, width, height)
    x, y = _cell_coordinates(width, height)
    steps = jnp.abs(x - start[0]) + jnp.abs(y - start[1])
    return on_path & (steps > 0), steps


def pathway_flow(
    starts: jax.Array,
    start_strengths: jax.Array,
    ends: jax.Array,
    horizontal_first: jax.Array,
    dissipation: float,
    width: int,
    height: int,
) -> tuple[jax.Array, jax.Array]:
    """Energy per step the pathways deliver, dissipating along their length.

    The k-th cell of a pathway (k >= 1 steps from its source) receives
    `strength * dissipation ** k`; cells on several pathways receive each one's flow.

    Args:
        starts: i32[P, 2] the pathways' sources; start_strengths: f32[P] their strengths.
        ends: i32[P, 2]; horizontal_first: bool[P]; dissipation: in (0, 1].

    Returns:
        flow: f32[W, H]; pathway_mask: bool[W, H] (cells on any pathway).
    """

    def _one_pathway(start, strength, end, horizontal):
        on_path, steps = pathway_cells(start, end, horizontal, width, height)
        flow = strength * _powers(dissipation, steps, width, height)
        return jnp.where(on_path, flow, 0.0), on_path

    flows, masks = jax.vmap(_one_pathway)(starts, start_strengths, ends, horizontal_first)
    return flows.sum(axis=0), masks.any(axis=0)


class World(NamedTuple):
    """A freshly drawn world (see `sample_world`)."""

    supply: jax.Array  # f32[W, H]
    source_positions: jax.Array  # i32[S, 2]
    source_strengths: jax.Array  # f32[S]
    pathway_mask: jax.Array  # bool[W, H]
    agent_positions: jax.Array  # i32[N, 2]


def sample_world(
    key: jax.Array,
    width: int,
    height: int,
    num_sources: int,
    num_pathways: int,
    num_agents: int,
    strength_range: tuple[float, float],
    radiation_decay: float,
    pathway_dissipation: float,
) -> World:
    """Draw sources, pathways and agent starts for one episode.

    Sources sit on distinct uniform cells with strengths uniform in `strength_range`.
    Pathway p leaves source `p mod S` for a uniform cell (an end on the source
    gives an empty pathway), along x or y first with equal chance. Agents start on
    distinct uniform cells (sharing only when N > W * H).

    Returns:
        World with supply = radiation + pathway flow.
    """
    source_key, strength_key, end_key, turn_key, agent_key = jax.random.split(key, 5)
    every_cell = jnp.ones((width, height), dtype=bool)
    sources = sample_cells(source_key, every_cell, num_sources, replace=False)
    strengths = jax.random.uniform(
        strength_key, (num_sources,), minval=strength_range[0], maxval=strength_range[1]
    )
    radiation = radiation_field(sources, strengths, radiation_decay, width, height)
    owner = jnp.arange(num_pathways) % num_sources
    ends = jax.random.randint(end_key, (num_pathways, 2), 0, jnp.asarray([[width, height]]))
    horizontal_first = jax.random.bernoulli(turn_key, 0.5, (num_pathways,))
    flow, pathway_mask = pathway_flow(
        sources[owner], strengths[owner], ends, horizontal_first, pathway_dissipation, width, height
    )
    agents = sample_cells(agent_key, every_cell, num_agents, replace=num_agents > width * height)
    return World(radiation + flow, sources, strengths, pathway_mask, agents)
