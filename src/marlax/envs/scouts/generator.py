"""Episode generation for scouts: fractal permanent walls, flags, agents."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.noise import noise_walls
from marlax.envs.grid.spawn import spawn_cells
from marlax.envs.grid.tiles import Tile


def generate_episode(
    key: jax.Array,
    width: int,
    height: int,
    num_agents: int,
    num_flags: int,
    wall_density: float,
) -> tuple[jax.Array, jax.Array]:
    """A fresh map: fractal permanent walls with a border, locked flags, agents.

    Flags and agents take distinct empty cells (one draw without replacement; the
    reference draws both with replacement, so flags could merge).

    Args:
        key: PRNG key.
        width, height: map size W, H (>= 3).
        num_agents: N; num_flags: F; `N + F <= (W - 2) * (H - 2)`.
        wall_density: noise threshold share, in [0, 1).

    Returns:
        terrain i8[W, H], positions i32[N, 2].
    """
    wall_key, cell_key = jax.random.split(key)
    walls = noise_walls(wall_key, width, height, wall_density, border=True)
    terrain = jnp.where(walls, jnp.int8(Tile.WALL), jnp.int8(Tile.EMPTY))
    cells = spawn_cells(cell_key, terrain, num_flags + num_agents)
    flags, positions = cells[:num_flags], cells[num_flags:]
    terrain = terrain.at[positions[:, 0], positions[:, 1]].set(jnp.int8(Tile.EMPTY))
    terrain = terrain.at[flags[:, 0], flags[:, 1]].set(jnp.int8(Tile.FLAG))
    return terrain, positions
