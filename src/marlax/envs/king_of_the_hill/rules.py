"""The phases of one king-of-the-hill step, each a pure function of arrays.

Agents are few (2 x team_size), so who-hits-whom and who-clashes-with-whom use
pairwise comparisons of flat cell ids (x * H + y): for 16 agents that is 256
integer compares, cheaper on XLA:CPU than zeroing and scattering into a
`[W, H]` count map (scatters run serially there).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.geometry import in_bounds
from marlax.envs.grid.tiles import Tile


def cell_ids(positions: jax.Array, height: int) -> jax.Array:
    """Flat cell ids x * H + y: i32[...] from i32[..., 2]."""
    return positions[..., 0] * height + positions[..., 1]


def dig(terrain: jax.Array, faced: jax.Array, digging: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Clear the diggable walls faced by digging agents.

    Args:
        terrain: i8[W, H]; faced: i32[N, 2] cells the agents face (may be off the map);
        digging: bool[N] agents whose action is dig.

    Returns:
        terrain i8[W, H] with the dug walls EMPTY; dug bool[N] (the agent cleared a wall).
    """
    width, height = terrain.shape
    inside = in_bounds(faced, width, height)
    x = jnp.clip(faced[:, 0], 0, width - 1)
    y = jnp.clip(faced[:, 1], 0, height - 1)
    dug = digging & inside & (terrain[x, y] == Tile.DIGGABLE_WALL)
    # non-diggers write off the map (dropped), so no scatter conflict with a digger
    terrain = terrain.at[jnp.where(dug, x, width), y].set(jnp.int8(Tile.EMPTY), mode="drop")
    return terrain, dug


def attacked(
    positions: jax.Array, faced: jax.Array, attacking: jax.Array, width: int, height: int
) -> jax.Array:
    """Agents standing on a cell an attacker faces (friendly fire counts).

    Args:
        positions: i32[N, 2]; faced: i32[N, 2] (may be off the map); attacking: bool[N];
        width, height: map size W, H.

    Returns:
        bool[N]: agent j was hit by at least one attacker.
    """
    # an off-map cell id would alias a real cell: such attacks hit nothing
    attacking = attacking & in_bounds(faced, width, height)
    same_cell = cell_ids(faced, height)[:, None] == cell_ids(positions, height)[None, :]
    hits = attacking[:, None] & same_cell
    return jnp.any(hits, axis=0)


def resolve_moves(
    terrain: jax.Array, positions: jax.Array, targets: jax.Array, moving: jax.Array
) -> jax.Array:
    """Simultaneous moves: walls, the map edge and occupied cells block; clashes cancel.

    A cell occupied at the start of the move phase blocks entry even if its agent
    leaves this step (so no swaps and no chains); two or more agents entering the
    same free cell all stay.

    Args:
        terrain: i8[W, H]; positions: i32[N, 2]; targets: i32[N, 2] wanted cells;
        moving: bool[N] agents that try to move.

    Returns:
        i32[N, 2] new positions.
    """
    width, height = terrain.shape
    inside = in_bounds(targets, width, height)
    x = jnp.clip(targets[:, 0], 0, width - 1)
    y = jnp.clip(targets[:, 1], 0, height - 1)
    tile = terrain[x, y]
    passable = (tile != Tile.WALL) & (tile != Tile.DIGGABLE_WALL)
    target_ids = cell_ids(targets, height)
    occupied = jnp.any(target_ids[:, None] == cell_ids(positions, height)[None, :], axis=1)
    valid = moving & inside & passable & ~occupied
    same_target = valid[:, None] & valid[None, :] & (target_ids[:, None] == target_ids[None, :])
    clashes = jnp.sum(same_target, axis=1) > 1  # counts itself once
    goes = valid & ~clashes
    return jnp.where(goes[:, None], targets, positions)


def capture(
    control_positions: jax.Array, control_owner: jax.Array, positions: jax.Array, teams: jax.Array
) -> jax.Array:
    """A point goes to a team that stands on it alone; contested or empty points keep their owner.

    Args:
        control_positions: i32[P, 2]; control_owner: i32[P] (0, 1 or NEUTRAL);
        positions: i32[N, 2]; teams: i32[N] (0 or 1).

    Returns:
        i32[P] new owners.
    """
    on_point = jnp.all(control_positions[:, None, :] == positions[None, :, :], axis=-1)  # [P, N]
    team0_on = jnp.any(on_point & (teams[None, :] == 0), axis=1)
    team1_on = jnp.any(on_point & (teams[None, :] == 1), axis=1)
    owner = jnp.where(team0_on & ~team1_on, 0, control_owner)
    return jnp.where(team1_on & ~team0_on, 1, owner)


def team_rewards(control_owner: jax.Array, teams: jax.Array, reward_per_point: float) -> jax.Array:
    """f32[N]: `reward_per_point` x the number of points held by the agent's team."""
    held = jnp.stack([jnp.sum(control_owner == 0), jnp.sum(control_owner == 1)])
    return (reward_per_point * held[teams]).astype(jnp.float32)
