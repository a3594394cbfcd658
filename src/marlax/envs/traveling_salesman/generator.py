"""Episode generation for the traveling salesman world (runs at reset only)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.geometry import sample_cells
from marlax.envs.grid.tiles import Tile


def decor_terrain(key: jax.Array, width: int, height: int, decor_density: float) -> jax.Array:
    """An open map with `Tile.DECOR` sprinkled on a `decor_density` share of cells.

    Decor is purely cosmetic (walkable), as in the reference's `generate_decor_tiles`.

    Returns:
        i8[W, H] tile ids (EMPTY or DECOR).
    """
    decor = jax.random.uniform(key, (width, height)) < decor_density
    return jnp.where(decor, Tile.DECOR, Tile.EMPTY).astype(jnp.int8)


def generate_episode(
    key: jax.Array,
    width: int,
    height: int,
    num_flags: int,
    num_agents: int,
    decor_density: float,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Draw the map, the flag cells and the agents' start cells.

    Flags and agents take distinct cells (one draw without replacement, flags
    first), so no agent starts on a flag.

    Returns:
        terrain i8[W, H] (flags drawn as `Tile.FLAG`), flag_positions i32[F, 2],
        positions i32[N, 2].
    """
    decor_key, cell_key = jax.random.split(key)
    terrain = decor_terrain(decor_key, width, height, decor_density)
    cells = sample_cells(
        cell_key, jnp.ones((width, height), bool), num_flags + num_agents, replace=False
    )
    flag_positions, positions = cells[:num_flags], cells[num_flags:]
    terrain = terrain.at[flag_positions[:, 0], flag_positions[:, 1]].set(jnp.int8(Tile.FLAG))
    return terrain, flag_positions, positions
