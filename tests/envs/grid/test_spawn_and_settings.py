"""Shared grid pieces: spawn cells on walled maps, and the one check of grid settings."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.grid.spawn import spawn_cells
from marlax.envs.grid.tiles import Tile
from marlax.errors import ConfigError

GRID_ENVS = ("grid_return", "scouts", "traveling_salesman", "king_of_the_hill", "energy_flow")
DENSITIES = {
    "grid_return": ("wall_density",),
    "scouts": ("wall_density",),
    "traveling_salesman": ("decor_density",),
    "king_of_the_hill": ("wall_density", "decor_density"),
    "energy_flow": (),
}


def test_spawn_cells_are_distinct_empty_inner_cells(key):
    terrain = jnp.full((6, 5), Tile.WALL, jnp.int8).at[1:5, 1:4].set(Tile.EMPTY)
    terrain = terrain.at[2, 2].set(Tile.DIGGABLE_WALL)  # 12 inner cells, 11 empty
    cells = np.asarray(spawn_cells(key, terrain, 11))
    assert len({tuple(cell) for cell in cells.tolist()}) == 11
    assert (np.asarray(terrain)[cells[:, 0], cells[:, 1]] == Tile.EMPTY).all()


def test_spawn_cells_fall_back_to_all_inner_cells_when_too_few_are_empty(key):
    terrain = jnp.full((5, 5), Tile.WALL, jnp.int8).at[2, 2].set(Tile.EMPTY)  # 9 inner, 1 empty
    cells = np.asarray(spawn_cells(key, terrain, 4))
    assert len({tuple(cell) for cell in cells.tolist()}) == 4
    assert ((cells >= 1) & (cells <= 3)).all()  # inside the border ring


@pytest.mark.parametrize("name", GRID_ENVS)
@pytest.mark.parametrize(
    ("field", "value"),
    [("width", 0), ("height", True), ("view_size", 4), ("max_steps", 0), ("view_size", 3.0)],
)
def test_every_grid_env_rejects_bad_shared_settings(name, field, value):
    with pytest.raises(ConfigError) as error:
        make(name, **{field: value})
    assert (error.value.field, error.value.value) == (field, value)


@pytest.mark.parametrize("name", GRID_ENVS)
def test_every_grid_density_is_a_fraction(name):
    for field in DENSITIES[name]:
        make(name, **{field: 0.0})
        for value in (1.0, -0.1, True):
            with pytest.raises(ConfigError, match=r"\[0, 1\)") as error:
                make(name, **{field: value})
            assert error.value.field == field


@pytest.mark.parametrize(("name", "min_side"), [("grid_return", 3), ("scouts", 3)])
def test_walled_maps_need_a_border_around_an_inner_cell(name, min_side):
    with pytest.raises(ConfigError, match=f">= {min_side}"):
        make(name, width=min_side - 1)
