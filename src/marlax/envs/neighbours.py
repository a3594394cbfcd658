"""Neighbours in 2-D with a uniform grid (cell list): O(N) for bounded density, no N x N array.

Points are binned into square cells of side `cell_size` over the square arena
`[low, high]^2`; each cell keeps up to `cell_capacity` point indices. A query looks only
at the `(2R + 1)^2` cells around its own, `R = ceil(radius / cell_size)`, so every point
within `radius` of the query is a candidate: the answers are exact (equal to brute force)
as long as no cell overflows. Cost: one sort of N cell ids to build the grid, then
`Q * (2R + 1)^2 * cell_capacity` distances, whatever N is.

    neighbours = k_nearest(points, points, k=4, cell_size=1.0, arena=(-5.0, 5.0),
                           exclude_self=True)
    neighbours.indices  # i32[N, 4], -1 in slots with no neighbour (valid False)

**Overflow.** A cell holding more than `cell_capacity` points keeps its lowest-index ones;
the others are invisible to every query (never returned, never counted).
`dropped_points(spec, grid)` says how many were left out, so callers can report it.
Points outside the arena go to the nearest border cell: answers stay exact (clamping
the cell coordinates never moves two cells further apart), only that cell's load grows.

Build the grid once and query it several times (`build_grid` + `query_candidates`) when
the same points are queried at several radii; `k_nearest`, `within_radius`,
`count_within` and `mean_within` are the one-call forms (they check their settings
eagerly and raise `ConfigError`). The kernels are jitted with their static settings, so
eager callers run a few compiled calls instead of hundreds of small ops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.validate import require, require_number, require_positive, require_positive_int

DEFAULT_CELL_CAPACITY = 16
"""Points one cell keeps unless told otherwise."""
_UNROLLED_K = 8
"""Up to this k, `smallest_k` unrolls k min-reductions instead of calling `lax.top_k`..."""
_UNROLLED_MIN_SIZE = 2**16
"""...when the candidate array has at least this many entries."""


@dataclass(frozen=True)
class GridSpec:
    """Static geometry of a cell list (hashable, so it may be a static jit argument).

    Attributes:
        low, high: the arena is the square `[low, high]^2`.
        cell_size: side of one square cell (> 0).
        cell_capacity: points one cell keeps (>= 1); see the module's overflow rule.
    """

    low: float
    high: float
    cell_size: float
    cell_capacity: int = DEFAULT_CELL_CAPACITY

    def __post_init__(self) -> None:
        require_number("arena", self.low)
        require_number("arena", self.high, self.low, open_low=True)
        require_positive("cell_size", self.cell_size)
        require_positive_int("cell_capacity", self.cell_capacity)

    @property
    def cells_per_side(self) -> int:
        """G: cells along each axis, `ceil((high - low) / cell_size)` (at least 1)."""
        return max(1, math.ceil((self.high - self.low) / self.cell_size))

    @property
    def num_cells(self) -> int:
        """C = G^2."""
        return self.cells_per_side**2

    def rings(self, radius: float) -> int:
        """R: cells to search on each side of the query's cell to see all of `radius`."""
        require_positive("radius", radius)
        return min(math.ceil(radius / self.cell_size), self.cells_per_side - 1)

    def num_candidates(self, radius: float) -> int:
        """K: candidate slots per query at `radius`, `(2R + 1)^2 * cell_capacity`."""
        return (2 * self.rings(radius) + 1) ** 2 * self.cell_capacity


class CellGrid(NamedTuple):
    """Points binned into cells.

    Attributes:
        cell_points: i32[C, P] indices of the points of each cell (lowest first), -1 where empty.
        cell_counts: i32[C] points that fell into each cell (may exceed P: overflow).
    """

    cell_points: jax.Array
    cell_counts: jax.Array


class Neighbours(NamedTuple):
    """k nearest neighbours per query, nearest first.

    Attributes:
        indices: i32[Q, k] point indices; -1 where `valid` is False.
        distances: f32[Q, k] Euclidean distances; 0 where `valid` is False.
        valid: bool[Q, k] the slot holds a point within the search radius.
    """

    indices: jax.Array
    distances: jax.Array
    valid: jax.Array


def cell_coordinates(spec: GridSpec, points: jax.Array) -> jax.Array:
    """Integer cell coordinates of each point, clamped into the grid: i32[N, 2]."""
    scaled = jnp.floor((points - spec.low) / spec.cell_size)
    return jnp.clip(scaled, 0, spec.cells_per_side - 1).astype(jnp.int32)


@partial(jax.jit, static_argnums=0)
def build_grid(spec: GridSpec, points: jax.Array, present: jax.Array | None = None) -> CellGrid:
    """Bin `points` f32[N, 2] into the cells of `spec` (one sort of N keys).

    `present` bool[N] (default all True): points with False go into no cell, so no query
    ever finds them and they load no cell (dead agents, another team's agents).
    """
    num_points = points.shape[0]
    coords = cell_coordinates(spec, points)
    cell_id = coords[:, 0] * spec.cells_per_side + coords[:, 1]  # i32[N]
    if present is not None:
        # absent points get the id one past the last cell: sorted last, dropped below
        cell_id = jnp.where(present, cell_id, spec.num_cells)
    point_index = jnp.arange(num_points, dtype=jnp.int32)
    if (spec.num_cells + 1) * num_points < 2**31:
        # one packed int32 key (cell id major, point index minor): a one-operand sort is
        # several times faster on XLA:CPU than argsort's two-operand sort
        packed = jnp.sort(cell_id * num_points + point_index)
        sorted_cell, sorted_point = packed // num_points, packed % num_points
    else:
        order = jnp.argsort(cell_id, stable=True)
        sorted_cell, sorted_point = cell_id[order], point_index[order]
    counts = jnp.zeros((spec.num_cells + 1,), jnp.int32).at[cell_id].add(1)
    starts = jnp.cumsum(counts) - counts  # i32[C + 1] first sorted slot of each cell
    rank = point_index - starts[sorted_cell]  # sorted slot minus its cell's first slot
    cell_points = jnp.full((spec.num_cells, spec.cell_capacity), -1, jnp.int32)
    # ranks past the capacity (and absent points, in row C) fall outside the table and are
    # dropped: the overflow rule
    cell_points = cell_points.at[sorted_cell, rank].set(sorted_point, mode="drop")
    return CellGrid(cell_points=cell_points, cell_counts=counts[: spec.num_cells])


def dropped_points(spec: GridSpec, grid: CellGrid) -> jax.Array:
    """Points left out of full cells (invisible to queries): i32[]."""
    return jnp.sum(jnp.maximum(grid.cell_counts - spec.cell_capacity, 0))


@partial(jax.jit, static_argnums=(0, 3))
def query_candidates(
    spec: GridSpec, grid: CellGrid, queries: jax.Array, radius: float
) -> jax.Array:
    """Every point in the cells within `R = ceil(radius / cell_size)` cells of each query.

    Args:
        queries: f32[Q, 2].
        radius: search radius; every point within it of a query is among its candidates
            (unless its cell overflowed).

    Returns:
        i32[Q, K] point indices, K = `spec.num_candidates(radius)`; -1 in empty slots.
    """
    rings = spec.rings(radius)
    span = np.arange(-rings, rings + 1, dtype=np.int32)
    offsets = np.stack(np.meshgrid(span, span, indexing="ij"), axis=-1).reshape(-1, 2)
    coords = cell_coordinates(spec, queries)[:, None, :] + jnp.asarray(offsets)[None, :, :]
    side = spec.cells_per_side
    inside = jnp.all((coords >= 0) & (coords < side), axis=-1)  # bool[Q, B]
    cell_id = jnp.where(inside, coords[..., 0] * side + coords[..., 1], 0)
    found = jnp.where(inside[..., None], grid.cell_points[cell_id], -1)  # i32[Q, B, P]
    return found.reshape(queries.shape[0], -1)


class Offsets(NamedTuple):
    """Vectors from each query to its candidates, one array per axis.

    Separate x and y arrays keep every distance computation elementwise: reducing a
    trailing axis of size 2 runs ~6x slower on XLA:CPU.

    Attributes:
        dx, dy: f32[Q, K] candidate minus query (0 in empty slots).
        present: bool[Q, K] the slot holds a point.
    """

    dx: jax.Array
    dy: jax.Array
    present: jax.Array

    @property
    def squared_distance(self) -> jax.Array:
        """f32[Q, K] (0 in empty slots)."""
        return self.dx * self.dx + self.dy * self.dy


def candidate_offsets(points: jax.Array, queries: jax.Array, candidates: jax.Array) -> Offsets:
    """Vectors from each query to its candidates.

    Args:
        points: f32[N, 2]; queries: f32[Q, 2]; candidates: i32[Q, K] (-1 = empty).
    """
    present = candidates >= 0
    safe = jnp.maximum(candidates, 0)

    def _axis(axis: int) -> jax.Array:
        delta = points[:, axis][safe] - queries[:, axis][:, None]
        return jnp.where(present, delta, 0.0)

    return Offsets(dx=_axis(0), dy=_axis(1), present=present)


@partial(jax.jit, static_argnames=("k", "exclude_self"))
def nearest_of_candidates(
    points: jax.Array,
    queries: jax.Array,
    candidates: jax.Array,
    k: int,
    radius: float,
    exclude_self: bool = False,
) -> Neighbours:
    """The k nearest candidates within `radius` of each query (see `k_nearest`)."""
    offsets = candidate_offsets(points, queries, candidates)
    distance = jnp.sqrt(offsets.squared_distance)  # f32[Q, K]
    keep = offsets.present & (distance <= radius)
    if exclude_self:
        keep = keep & (candidates != jnp.arange(queries.shape[0], dtype=jnp.int32)[:, None])
    if candidates.shape[1] < k:  # fewer slots than asked: pad with empty ones
        pad = k - candidates.shape[1]
        candidates = jnp.pad(candidates, ((0, 0), (0, pad)), constant_values=-1)
        distance = jnp.pad(distance, ((0, 0), (0, pad)))
        keep = jnp.pad(keep, ((0, 0), (0, pad)))
    nearest, slot = smallest_k(jnp.where(keep, distance, jnp.inf), k)
    valid = jnp.isfinite(nearest)
    indices = jnp.take_along_axis(candidates, slot, axis=1)
    return Neighbours(
        indices=jnp.where(valid, indices, -1),
        distances=jnp.where(valid, nearest, 0.0),
        valid=valid,
    )


@partial(jax.jit, static_argnames=("exclude_self",))
def within_of_candidates(
    points: jax.Array,
    queries: jax.Array,
    candidates: jax.Array,
    radius: float,
    exclude_self: bool = False,
) -> tuple[jax.Array, jax.Array]:
    """The candidates within `radius` of each query (see `within_radius`).

    Returns:
        (indices i32[Q, K], valid bool[Q, K]); -1 where invalid.
    """
    offsets = candidate_offsets(points, queries, candidates)
    valid = offsets.present & (offsets.squared_distance <= radius * radius)
    if exclude_self:
        valid = valid & (candidates != jnp.arange(queries.shape[0], dtype=jnp.int32)[:, None])
    return jnp.where(valid, candidates, -1), valid


def team_neighbours(
    spec: GridSpec,
    positions: jax.Array,
    present: jax.Array,
    teams: np.ndarray,
    radius: float,
    k: int | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Each agent's present team-mates within `radius` (the k nearest, or all of them).

    One grid per team: an agent queries only its own team's grid, so no other team's agent
    is ever a candidate (or fills a cell). An agent is never its own neighbour.

    Args:
        spec: the grid (cells of side >= radius keep the search to 3 x 3 cells).
        positions: f32[N, 2]; present: bool[N] agents that may be found (alive).
        teams: i32[N] static team ids.
        k: keep the k nearest (slots nearest first), or None for every one within `radius`.

    Returns:
        (indices i32[N, K] (-1 in empty slots), valid bool[N, K], dropped i32[] agents left
        out of over-full cells); K = k, or `spec.num_candidates(radius)` when k is None.
    """
    width = k if k is not None else spec.num_candidates(radius)
    indices = jnp.full((positions.shape[0], width), -1, jnp.int32)
    valid = jnp.zeros((positions.shape[0], width), bool)
    dropped = jnp.zeros((), jnp.int32)
    for team in np.unique(teams):
        members = np.flatnonzero(teams == team)  # static rows of the team
        grid = build_grid(spec, positions, present & jnp.asarray(teams == team))
        dropped = dropped + dropped_points(spec, grid)
        queries = positions[members]
        candidates = query_candidates(spec, grid, queries, radius)
        candidates = jnp.where(candidates == jnp.asarray(members)[:, None], -1, candidates)
        if k is None:
            found, ok = within_of_candidates(positions, queries, candidates, radius)
        else:
            nearest = nearest_of_candidates(positions, queries, candidates, k, radius)
            found, ok = nearest.indices, nearest.valid
        indices, valid = indices.at[members].set(found), valid.at[members].set(ok)
    return indices, valid, dropped


def smallest_k(values: jax.Array, k: int) -> tuple[jax.Array, jax.Array]:
    """The k smallest entries of each row, smallest first; ties go to the lower slot.

    For k <= 8 and at least 2^16 values, k rounds of (row min, first slot holding it,
    mask it out): plain reductions, about 1.5x faster than `lax.top_k` on XLA:CPU;
    otherwise one `lax.top_k`, which compiles about 2x faster.

    Args:
        values: f32[Q, K] with K >= k.

    Returns:
        (values f32[Q, k], slots i32[Q, k]).
    """
    if k > _UNROLLED_K or values.size < _UNROLLED_MIN_SIZE:
        # many rounds cost more than one top_k, and small problems compile faster with it
        negated, slots = jax.lax.top_k(-values, k)
        return -negated, slots.astype(jnp.int32)
    num_slots = values.shape[1]
    slot_index = jnp.arange(num_slots, dtype=jnp.int32)[None, :]
    found_values, found_slots = [], []
    for _ in range(k):  # k is small and static: unrolled on purpose
        smallest = jnp.min(values, axis=1, keepdims=True)
        slot = jnp.min(jnp.where(values == smallest, slot_index, num_slots), axis=1, keepdims=True)
        found_values.append(smallest)
        found_slots.append(slot)
        values = jnp.where(slot_index == slot, jnp.inf, values)
    return jnp.concatenate(found_values, axis=1), jnp.concatenate(found_slots, axis=1)


def _spec(cell_size: float, arena: tuple[float, float], cell_capacity: int) -> GridSpec:
    require(
        isinstance(arena, tuple | list) and len(arena) == 2,
        "arena",
        arena,
        "a pair (low, high): the square [low, high]^2",
    )
    return GridSpec(float(arena[0]), float(arena[1]), float(cell_size), cell_capacity)


def _check_queries(points: jax.Array, queries: jax.Array, exclude_self: bool) -> None:
    require(points.ndim == 2 and points.shape[1] == 2, "points", points.shape, "f32[N, 2]")
    require(queries.ndim == 2 and queries.shape[1] == 2, "queries", queries.shape, "f32[Q, 2]")
    if exclude_self:
        require(
            queries.shape[0] == points.shape[0],
            "exclude_self",
            True,
            "queries that are the points themselves (Q == N)",
        )


def k_nearest(
    points: jax.Array,
    queries: jax.Array,
    k: int,
    cell_size: float,
    arena: tuple[float, float],
    *,
    radius: float | None = None,
    exclude_self: bool = False,
    cell_capacity: int = DEFAULT_CELL_CAPACITY,
) -> Neighbours:
    """The k points nearest to each query, among those within `radius` of it.

    Exact (equal to a brute-force search restricted to `radius`) when no cell holds more
    than `cell_capacity` points; a query with fewer than k points in range gets invalid
    slots. Ties are broken by candidate order (cell, then point index).

    Args:
        points: f32[N, 2].
        queries: f32[Q, 2].
        k: neighbours per query (>= 1).
        cell_size: side of a grid cell.
        arena: (low, high): the grid covers `[low, high]^2`.
        radius: search radius; defaults to `cell_size` (a 3 x 3 block of cells).
        exclude_self: queries are the points (Q == N); query i never returns point i.
        cell_capacity: points one cell keeps (module docstring: overflow).

    Returns:
        Neighbours(indices i32[Q, k], distances f32[Q, k], valid bool[Q, k]), nearest first.
    """
    require_positive_int("k", k)
    _check_queries(points, queries, exclude_self)
    spec = _spec(cell_size, arena, cell_capacity)
    radius = spec.cell_size if radius is None else require_positive("radius", radius)
    grid = build_grid(spec, points)
    candidates = query_candidates(spec, grid, queries, radius)
    return nearest_of_candidates(points, queries, candidates, k, radius, exclude_self)


def within_radius(
    points: jax.Array,
    queries: jax.Array,
    radius: float,
    cell_size: float,
    arena: tuple[float, float],
    *,
    exclude_self: bool = False,
    cell_capacity: int = DEFAULT_CELL_CAPACITY,
) -> tuple[jax.Array, jax.Array]:
    """Every point within `radius` of each query, in fixed-size slots (unsorted).

    Returns:
        (indices i32[Q, K], valid bool[Q, K]); K = (2R + 1)^2 * cell_capacity, -1 where invalid.
    """
    _check_queries(points, queries, exclude_self)
    spec = _spec(cell_size, arena, cell_capacity)
    require_positive("radius", radius)
    candidates = query_candidates(spec, build_grid(spec, points), queries, radius)
    return within_of_candidates(points, queries, candidates, radius, exclude_self)


def count_within(
    points: jax.Array,
    queries: jax.Array,
    radius: float,
    cell_size: float,
    arena: tuple[float, float],
    *,
    exclude_self: bool = False,
    cell_capacity: int = DEFAULT_CELL_CAPACITY,
) -> jax.Array:
    """Points within `radius` of each query: i32[Q] (see `within_radius`)."""
    _, valid = within_radius(
        points,
        queries,
        radius,
        cell_size,
        arena,
        exclude_self=exclude_self,
        cell_capacity=cell_capacity,
    )
    return jnp.sum(valid, axis=1, dtype=jnp.int32)


@jax.jit
def neighbour_mean(values: jax.Array, indices: jax.Array, valid: jax.Array) -> jax.Array:
    """Mean of per-point vectors over each query's valid neighbours (0 where it has none).

    Args:
        values: f32[N, D] one vector per point (e.g. one-hot previous actions).
        indices: i32[Q, K] neighbour indices (from `k_nearest` or `within_radius`).
        valid: bool[Q, K].

    Returns:
        f32[Q, D].
    """
    gathered = values[jnp.maximum(indices, 0)]  # [Q, K, D]
    weight = valid.astype(values.dtype)[..., None]
    total = jnp.sum(gathered * weight, axis=1)
    count = jnp.sum(weight, axis=1)
    return total / jnp.maximum(count, 1.0)


def mean_within(
    values: jax.Array,
    points: jax.Array,
    queries: jax.Array,
    radius: float,
    cell_size: float,
    arena: tuple[float, float],
    *,
    exclude_self: bool = False,
    cell_capacity: int = DEFAULT_CELL_CAPACITY,
) -> jax.Array:
    """Mean of `values` f32[N, D] over the points within `radius` of each query: f32[Q, D]."""
    indices, valid = within_radius(
        points,
        queries,
        radius,
        cell_size,
        arena,
        exclude_self=exclude_self,
        cell_capacity=cell_capacity,
    )
    return neighbour_mean(values, indices, valid)
