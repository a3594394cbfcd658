"""Episode generation for grid return: fractal diggable walls, a treasure, agents."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.noise import border_mask, noise_walls
from marlax.envs.grid.spawn import spawn_cells
from marlax.envs.grid.tiles import Tile


def generate_episode(
    key: jax.Array,
    width: int,
    height: int,
    num_agents: int,
    num_teleport: int,
    wall_density: float,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """A fresh map: permanent border, fractal diggable walls, one treasure, agents.

    One draw without replacement gives the treasure cell and `P = num_teleport`
    further empty cells; agents start on the first N of those (so they start apart,
    a special case of the rule that agents may share cells) and treasure finders
    are later teleported to any of the P cells, which stay empty for the whole
    episode because walls are only ever removed.

    Args:
        key: PRNG key.
        width, height: map size W, H (>= 3).
        num_agents: N <= num_teleport.
        num_teleport: P; `1 + P <= (W - 2) * (H - 2)`.
        wall_density: noise threshold share, in [0, 1).

    Returns:
        terrain i8[W, H], positions i32[N, 2], teleport_cells i32[P, 2].
    """
    wall_key, cell_key = jax.random.split(key)
    diggable = noise_walls(wall_key, width, height, wall_density, border=False)
    terrain = jnp.where(
        border_mask(width, height),
        jnp.int8(Tile.WALL),
        jnp.where(diggable, jnp.int8(Tile.DIGGABLE_WALL), jnp.int8(Tile.EMPTY)),
    )
    cells = spawn_cells(cell_key, terrain, 1 + num_teleport)
    terrain = terrain.at[cells[:, 0], cells[:, 1]].set(jnp.int8(Tile.EMPTY))
    terrain = terrain.at[cells[0, 0], cells[0, 1]].set(jnp.int8(Tile.TREASURE))
    teleport_cells = cells[1:]
    return terrain, teleport_cells[:num_agents], teleport_cells
