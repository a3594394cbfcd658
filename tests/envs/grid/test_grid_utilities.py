"""Shared grid pieces: cell sampling, moves, egocentric views, noise maps, rendering."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.grid import geometry, noise, render
from marlax.envs.grid.tiles import TILE_COLORS, UNIT_COLORS, Action, Tile


def test_sample_cells_without_replacement_are_distinct_and_allowed(key):
    allowed = jnp.zeros((6, 5), bool).at[1:5, 1:4].set(True)  # 12 cells
    cells = geometry.sample_cells(key, allowed, 12, replace=False)
    assert cells.shape == (12, 2)
    assert bool(allowed[cells[:, 0], cells[:, 1]].all())
    assert len({tuple(c) for c in np.asarray(cells).tolist()}) == 12


def test_sample_cells_with_replacement_only_hits_allowed_cells(key):
    allowed = jnp.zeros((4, 4), bool).at[2, 3].set(True)
    cells = geometry.sample_cells(key, allowed, 5, replace=True)
    np.testing.assert_array_equal(cells, np.tile([[2, 3]], (5, 1)))


def test_move_targets_follow_action_directions():
    positions = jnp.array([[5, 5]] * 7)
    actions = jnp.arange(7)
    targets = geometry.move_targets(positions, actions)
    expected = [[5, 6], [6, 5], [5, 4], [4, 5], [5, 5], [5, 5], [5, 5]]
    np.testing.assert_array_equal(targets, expected)
    assert Action.UP == 0 and Action.DIG == 6


def test_egocentric_view_known_values_and_wall_padding():
    layer = jnp.arange(12, dtype=jnp.int32).reshape(4, 3)  # layer[x, y] = 3x + y
    views = geometry.egocentric_views(layer, jnp.array([[0, 0], [2, 1]]), 3, pad_value=-1)
    # agent at (0, 0): view[1 + dx, 1 + dy] = layer[dx, dy], off-map = -1
    expected_corner = np.array([[-1, -1, -1], [-1, 0, 1], [-1, 3, 4]])
    np.testing.assert_array_equal(views[0], expected_corner)
    expected_middle = np.array([[3, 4, 5], [6, 7, 8], [9, 10, 11]])
    np.testing.assert_array_equal(views[1], expected_middle)


def test_scatter_units_places_codes_and_keeps_largest_on_overlap():
    layer = geometry.scatter_units(jnp.array([2, 5, 3]), jnp.array([[0, 1], [0, 1], [2, 2]]), 3, 3)
    assert int(layer[0, 1]) == 5 and int(layer[2, 2]) == 3 and int(layer.sum()) == 8


def test_noise_walls_have_a_border_and_vary_with_key():
    walls = noise.noise_walls(jax.random.key(1), 12, 10, 0.4)
    assert walls.shape == (12, 10)
    assert bool(walls[0].all() and walls[-1].all() and walls[:, 0].all() and walls[:, -1].all())
    other = noise.noise_walls(jax.random.key(2), 12, 10, 0.4)
    assert not bool((walls == other).all())


def test_fractal_noise_in_unit_interval(key):
    values = noise.fractal_noise(key, 17, 9)
    assert values.shape == (17, 9)
    assert float(values.min()) >= 0.0 and float(values.max()) <= 1.0


def test_render_grid_puts_y_up_and_draws_units_inset():
    terrain = jnp.zeros((2, 3), jnp.int32).at[0, 2].set(Tile.WALL)  # top-left cell is a wall
    units = jnp.zeros((2, 3), jnp.int32).at[1, 0].set(3)  # bottom-right cell has a unit
    image = render.render_grid(terrain, units, cell_px=16)
    assert image.shape == (48, 32, 3) and image.dtype == jnp.uint8
    np.testing.assert_array_equal(image[0, 0], TILE_COLORS[Tile.WALL])
    np.testing.assert_array_equal(image[40, 24], UNIT_COLORS[3])  # centre of bottom-right cell
    np.testing.assert_array_equal(image[32, 16], TILE_COLORS[Tile.EMPTY])  # its corner: terrain


def test_cell_outline_marks_only_the_ring():
    image = jnp.zeros((32, 32, 3), jnp.uint8)
    outlined = render.draw_cell_outline(
        image, jnp.array([0, 1]), height=2, cell_px=16, color=(255, 0, 0)
    )
    assert int(outlined[0, 0, 0]) == 255 and int(outlined[8, 8, 0]) == 0
    assert int(outlined[20, 20, 0]) == 0
