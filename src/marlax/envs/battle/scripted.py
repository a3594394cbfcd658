"""The built-in opponent of `opponent="scripted"`: attack the weakest adjacent enemy,
else step towards the nearest enemy in view, else towards the enemies' centre.

It reads the same byte maps as the observations (one crop per scripted agent, what an agent
of its team would observe), so a step stays O(N): no agent-to-agent distances.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.battle.constants import (
    ATTACK_BASE,
    ATTACK_DELTAS,
    CHANNEL_ENEMY,
    CHANNEL_ENEMY_HP,
    MOVE_DELTAS,
    NOOP,
    NUM_CHANNELS,
)
from marlax.envs.battle.observe import crop

_NO_ENEMY = 1 << 20  # larger than any HP byte or squared distance in a view


def _move_table() -> np.ndarray:
    """i32[3, 3]: the move action for a step by (sx, sy) in {-1, 0, 1}^2 (index sx+1, sy+1)."""
    table = np.full((3, 3), NOOP, np.int32)
    for action, (dx, dy) in enumerate(MOVE_DELTAS):
        if abs(dx) <= 1 and abs(dy) <= 1:
            table[dx + 1, dy + 1] = action
    return table


def _view_distances(view_radius: int) -> np.ndarray:
    """i32[V*V]: squared distance of each view cell to the centre (x-major order)."""
    offsets = np.arange(-view_radius, view_radius + 1)
    squared = offsets[:, None] ** 2 + offsets[None, :] ** 2
    return squared.reshape(-1).astype(np.int32)


def scripted_actions(
    maps: jax.Array,
    positions: jax.Array,
    alive: jax.Array,
    team: int,
    enemy_centre: jax.Array,
    view_radius: int,
) -> jax.Array:
    """Actions of one team's scripted agents: i32[n].

    1. An enemy on one of the 8 neighbour cells: attack the one with the least HP (ties:
       the first in action order).
    2. Else an enemy in view: move one cell (diagonals allowed) towards the nearest one
       (ties: the first in x-major view order).
    3. Else move one cell towards `enemy_centre`. Dead agents: no-op.

    Args:
        maps: the byte maps (`observe.byte_maps`); positions: i32[n, 2];
        alive: bool[n]; team: the scripted team (0 or 1); enemy_centre: f32[2] mean
        position of the live enemies; view_radius: r.
    """
    size = 2 * view_radius + 1
    teams = jnp.full(positions.shape[:1], team, jnp.int32)
    views = crop(maps, positions, alive, teams, view_radius).reshape(-1, size * size, NUM_CHANNELS)
    enemy = views[:, :, CHANNEL_ENEMY] > 0
    enemy_hp = views[:, :, CHANNEL_ENEMY_HP].astype(jnp.int32)

    neighbour_cells = (ATTACK_DELTAS[:, 0] + view_radius) * size + ATTACK_DELTAS[:, 1] + view_radius
    weakest = jnp.where(enemy[:, neighbour_cells], enemy_hp[:, neighbour_cells], _NO_ENEMY)
    attack = jnp.argmin(weakest, axis=1).astype(jnp.int32)
    can_attack = jnp.min(weakest, axis=1) < _NO_ENEMY

    distances = jnp.where(enemy, jnp.asarray(_view_distances(view_radius))[None, :], _NO_ENEMY)
    nearest = jnp.argmin(distances, axis=1)
    sees_enemy = jnp.min(distances, axis=1) < _NO_ENEMY
    seen_offset = jnp.stack([nearest // size, nearest % size], axis=-1) - view_radius
    centre_offset = jnp.round(enemy_centre[None, :] - positions).astype(jnp.int32)
    offset = jnp.where(sees_enemy[:, None], seen_offset, centre_offset)
    step = jnp.sign(offset) + 1
    move = jnp.asarray(_move_table())[step[:, 0], step[:, 1]]

    actions = jnp.where(can_attack, ATTACK_BASE + attack, move)
    return jnp.where(alive, actions, NOOP).astype(jnp.int32)


def team_centre(positions: jax.Array, alive: jax.Array) -> jax.Array:
    """f32[2]: mean cell of the live agents among `positions` (i32[n, 2]); (0, 0) if none."""
    weights = alive.astype(jnp.float32)
    total = jnp.sum(positions.astype(jnp.float32) * weights[:, None], axis=0)
    return total / jnp.maximum(jnp.sum(weights), 1.0)
