"""Map generation and fixed spawns for king of the hill (runs at reset only)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.grid.geometry import sample_cells
from marlax.envs.grid.noise import noise_walls
from marlax.envs.grid.tiles import Tile


def band_rows(height: int, band_height: int) -> tuple[int, int]:
    """First row and end row (exclusive) of the central band that holds the control points.

    As in the reference (`padded_height // 2 - 5`, 11 rows): centred on row H // 2.
    """
    start = height // 2 - band_height // 2
    return start, start + band_height


def start_positions(width: int, height: int, team_size: int) -> np.ndarray:
    """Fixed spawn cells: team 0 on row 0, team 1 on row H-1, centred in x.

    Returns:
        i32[2 * team_size, 2] (x, y); rows `0 .. team_size-1` are team 0.
    """
    xs = np.arange(team_size) + width // 2 - team_size // 2
    team0 = np.stack([xs, np.zeros(team_size, int)], axis=-1)
    team1 = np.stack([xs, np.full(team_size, height - 1)], axis=-1)
    return np.concatenate([team0, team1]).astype(np.int32)


def start_facing(team_size: int) -> np.ndarray:
    """i32[2 * team_size]: each team starts facing the map centre (team 0 up, team 1 down)."""
    return np.repeat(np.array([0, 2], np.int32), team_size)


def generate_map(
    key: jax.Array,
    width: int,
    height: int,
    num_points: int,
    band_height: int,
    wall_density: float,
    decor_density: float,
) -> tuple[jax.Array, jax.Array]:
    """Fractal diggable walls, decor, and control points in the central band.

    The spawn rows (y = 0 and y = H-1) are kept clear so agents are never walled
    in (as in the reference); a control point's cell is cleared as well.

    Returns:
        terrain i8[W, H] (EMPTY, DECOR, DIGGABLE_WALL), control_positions i32[P, 2].
    """
    wall_key, decor_key, point_key = jax.random.split(key, 3)
    rows = jnp.arange(height)
    spawn_rows = (rows == 0) | (rows == height - 1)
    walls = noise_walls(wall_key, width, height, wall_density, border=False) & ~spawn_rows[None, :]
    decor = jax.random.uniform(decor_key, (width, height)) < decor_density
    terrain = jnp.where(walls, Tile.DIGGABLE_WALL, jnp.where(decor, Tile.DECOR, Tile.EMPTY))
    first, end = band_rows(height, band_height)
    in_band = jnp.broadcast_to((rows >= first) & (rows < end), (width, height))
    control_positions = sample_cells(point_key, in_band, num_points, replace=False)
    terrain = terrain.at[control_positions[:, 0], control_positions[:, 1]].set(Tile.EMPTY)
    return terrain.astype(jnp.int8), control_positions
