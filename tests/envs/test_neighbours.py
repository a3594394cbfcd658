"""The uniform-grid neighbour search: brute-force equality, overflow rule, transforms, no N^2."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import neighbours
from marlax.envs.neighbours import (
    GridSpec,
    build_grid,
    count_within,
    dropped_points,
    k_nearest,
    mean_within,
    neighbour_mean,
    smallest_k,
    within_radius,
)
from marlax.errors import ConfigError

ARENA = (-5.0, 5.0)
CELL = 1.0


def _brute_force(points, queries, radius, exclude_self):
    """Distances f32[Q, N] with points beyond `radius` (and self, if asked) at +inf."""
    points, queries = np.asarray(points, np.float64), np.asarray(queries, np.float64)
    distance = np.linalg.norm(queries[:, None, :] - points[None, :, :], axis=-1)
    if exclude_self:
        np.fill_diagonal(distance, np.inf)
    return np.where(distance <= radius, distance, np.inf)


def _random_points(seed: int, count: int, low: float = -5.0, high: float = 5.0) -> jax.Array:
    return jax.random.uniform(jax.random.key(seed), (count, 2), minval=low, maxval=high)


@pytest.mark.parametrize(("radius", "k"), [(1.0, 5), (2.5, 3)])
def test_k_nearest_equals_brute_force(radius, k):
    points = _random_points(0, 300)
    spec = GridSpec(*ARENA, CELL, 16)
    assert int(dropped_points(spec, build_grid(spec, points))) == 0  # no overflow: exact
    found = k_nearest(points, points, k, CELL, ARENA, radius=radius, exclude_self=True)
    distance = _brute_force(points, points, radius, exclude_self=True)
    expected = np.argsort(distance, axis=1, kind="stable")[:, :k]
    expected_distance = np.take_along_axis(distance, expected, axis=1)
    indices, valid = np.asarray(found.indices), np.asarray(found.valid)
    np.testing.assert_array_equal(valid, np.isfinite(expected_distance))
    for row in range(points.shape[0]):
        assert set(indices[row][valid[row]]) == set(expected[row][valid[row]])
    np.testing.assert_allclose(
        found.distances, np.where(valid, expected_distance, 0.0), rtol=1e-5, atol=1e-5
    )
    assert np.all(indices[~valid] == -1)
    step_up = np.diff(np.asarray(found.distances), axis=1) >= 0
    assert np.all(step_up | ~valid[:, 1:])  # nearest first
    if radius == CELL:  # sparse enough that some queries have fewer than k in range
        assert (~valid).any() and valid.all(axis=1).mean() > 0.5


def test_queries_other_than_the_points_even_outside_the_arena():
    """Out-of-arena queries and points are clamped into border cells: still exact."""
    points = jnp.concatenate([_random_points(1, 200), _random_points(2, 20, 5.0, 6.0)])
    queries = _random_points(3, 40, -6.0, 6.0)
    found = k_nearest(points, queries, 4, CELL, ARENA, cell_capacity=32)
    distance = _brute_force(points, queries, CELL, exclude_self=False)
    expected = np.sort(distance, axis=1)[:, :4]
    np.testing.assert_allclose(np.where(found.valid, found.distances, np.inf), expected, rtol=1e-5)


def test_within_radius_count_and_mean_equal_brute_force():
    points = _random_points(4, 250)
    values = jax.random.normal(jax.random.key(5), (250, 3))
    radius = 1.3
    indices, valid = within_radius(points, points, radius, CELL, ARENA, exclude_self=True)
    inside = np.isfinite(_brute_force(points, points, radius, exclude_self=True))
    for row in range(250):
        assert set(np.asarray(indices[row])[np.asarray(valid[row])]) == set(
            np.flatnonzero(inside[row])
        )
    counts = count_within(points, points, radius, CELL, ARENA, exclude_self=True)
    np.testing.assert_array_equal(counts, inside.sum(axis=1))
    means = mean_within(values, points, points, radius, CELL, ARENA, exclude_self=True)
    expected = (inside @ np.asarray(values)) / np.maximum(inside.sum(axis=1), 1)[:, None]
    np.testing.assert_allclose(means, expected, rtol=1e-5, atol=1e-5)


def test_neighbour_mean_by_hand():
    values = jnp.array([[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])
    indices = jnp.array([[0, 1, -1], [2, -1, -1], [-1, -1, -1]])
    valid = indices >= 0
    np.testing.assert_allclose(
        neighbour_mean(values, indices, valid), [[0.5, 0.5], [3.0, 3.0], [0.0, 0.0]]
    )


def test_overflow_keeps_the_lowest_indices_and_counts_the_rest():
    """Capacity 2: a cell with 4 points keeps points 0 and 1; 2 and 3 are invisible."""
    crowded = [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3], [0.4, 0.4]]
    points = jnp.array([*crowded, [3.5, 3.5]], jnp.float32)
    spec = GridSpec(*ARENA, CELL, cell_capacity=2)
    grid = build_grid(spec, points)
    assert int(dropped_points(spec, grid)) == 2
    assert int(jnp.max(grid.cell_counts)) == 4
    query = jnp.array([[0.0, 0.0]])
    found = k_nearest(points, query, 4, CELL, ARENA, cell_capacity=2)
    np.testing.assert_array_equal(found.indices, [[0, 1, -1, -1]])
    assert int(count_within(points, query, CELL, CELL, ARENA, cell_capacity=2)[0]) == 2
    roomy = k_nearest(points, query, 4, CELL, ARENA, cell_capacity=4)
    np.testing.assert_array_equal(roomy.indices, [[0, 1, 2, 3]])


def test_more_neighbours_asked_than_slots_pads_invalid():
    # one cell of capacity 2: two candidate slots per query, five asked for
    points = jnp.array([[0.0, 0.0], [0.5, 0.0]])
    found = k_nearest(points, points, 5, 2.0, (-1.0, 1.0), exclude_self=True, cell_capacity=2)
    np.testing.assert_array_equal(found.indices[:, 0], [1, 0])
    assert found.indices.shape == (2, 5) and int(found.valid.sum()) == 2


def test_jit_equals_no_jit_and_vmap_equals_loop():
    points = jnp.stack([_random_points(seed, 64) for seed in (6, 7, 8)])

    def _search(batch_points):
        return k_nearest(batch_points, batch_points, 3, CELL, ARENA, exclude_self=True)

    eager = _search(points[0])
    jitted = jax.jit(_search)(points[0])
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_array_equal(a, b)
    batched = jax.jit(jax.vmap(_search))(points)
    for index in range(3):
        single = _search(points[index])
        for a, b in zip(single, batched, strict=True):
            np.testing.assert_array_equal(a, b[index])


@pytest.mark.parametrize("size", [32, neighbours._UNROLLED_MIN_SIZE])
def test_smallest_k_equals_a_stable_sort_with_ties(size):
    """Both paths (top_k for small arrays, unrolled min rounds for large) break ties alike."""
    rows = size // 16
    values = jax.random.randint(jax.random.key(9), (rows, 16), 0, 6).astype(jnp.float32)
    values = values.at[:, 3].set(jnp.inf)
    found, slots = smallest_k(values, 4)
    order = np.argsort(np.asarray(values), axis=1, kind="stable")[:, :4]
    np.testing.assert_array_equal(slots, order)
    np.testing.assert_array_equal(found, np.take_along_axis(np.asarray(values), order, axis=1))


def _inner_jaxprs(param):
    """Jaxprs nested in an equation parameter (jit bodies, cond branches, scan bodies)."""
    if hasattr(param, "eqns"):
        yield param
    elif hasattr(getattr(param, "jaxpr", None), "eqns"):
        yield param.jaxpr
    elif isinstance(param, tuple | list):
        for item in param:
            yield from _inner_jaxprs(item)


def largest_intermediate(jaxpr) -> int:
    """Elements of the largest value any equation (at any nesting depth) produces."""
    largest = 0
    for equation in jaxpr.eqns:
        for var in equation.outvars:
            largest = max(largest, int(np.prod(getattr(var.aval, "shape", ()))))
        for param in equation.params.values():
            for inner in _inner_jaxprs(param):
                largest = max(largest, largest_intermediate(inner))
    return largest


def _search_jaxpr(num_points: int):
    """Jaxpr of a 4-nearest search over `num_points` points at constant density."""
    side = float(np.sqrt(num_points * 4 / 3)) / 2
    points = _random_points(10, num_points, -side, side)

    def _search(points):
        return k_nearest(points, points, 4, 1.5, (-side, side), exclude_self=True)

    return _search, points, jax.make_jaxpr(_search)(points).jaxpr


def test_no_n_squared_array_at_5000_points():
    """The largest intermediate grows like N (4x from 1250 to 5000 points), far from N^2."""
    num_points = 5000
    search, points, jaxpr = _search_jaxpr(num_points)
    largest = largest_intermediate(jaxpr)
    assert largest < num_points * num_points // 10
    assert largest <= 4 * largest_intermediate(_search_jaxpr(num_points // 4)[2])
    memory = jax.jit(search).lower(points).compile().memory_analysis()
    if memory is not None:  # some backends do not report it
        assert memory.temp_size_in_bytes < num_points * num_points  # f32[N, N] is 4 N^2 bytes


@pytest.mark.parametrize(
    ("setting", "kwargs"),
    [
        ("k", {"k": 0}),
        ("radius", {"radius": -1.0}),
        ("radius", {"radius": 0.0}),
        ("cell_size", {"cell_size": 0.0}),
        ("arena", {"arena": (1.0, -1.0)}),
        ("arena", {"arena": (0.0,)}),
        ("cell_capacity", {"cell_capacity": 0}),
    ],
)
def test_bad_arguments_are_config_errors(setting, kwargs):
    points = _random_points(11, 10)
    arguments = {"k": 2, "cell_size": CELL, "arena": ARENA, **kwargs}
    with pytest.raises(ConfigError, match=setting):
        k_nearest(points, points, **arguments)


def test_exclude_self_needs_the_points_as_queries():
    points = _random_points(12, 10)
    with pytest.raises(ConfigError, match="exclude_self"):
        k_nearest(points, points[:5], 2, CELL, ARENA, exclude_self=True)


def test_absent_points_are_never_found_and_load_no_cell():
    spec = GridSpec(ARENA[0], ARENA[1], CELL, 4)
    points = _random_points(11, 200)
    present = jax.random.bernoulli(jax.random.key(12), 0.5, (200,))
    grid = build_grid(spec, points, present)
    found = np.asarray(grid.cell_points)
    assert set(found[found >= 0]) <= set(np.flatnonzero(np.asarray(present)))
    assert int(np.sum(grid.cell_counts)) == int(np.sum(present))
    # only the present points count towards a cell's load, so only they can overflow it
    full = build_grid(spec, points[np.asarray(present)])
    np.testing.assert_array_equal(grid.cell_counts, full.cell_counts)
