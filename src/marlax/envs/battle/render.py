"""Picture of a battle state: team 0 red, team 1 blue, paler with less HP; walls dark."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.battle.constants import (
    CHANNEL_ENEMY,
    CHANNEL_ENEMY_HP,
    CHANNEL_OWN,
    CHANNEL_OWN_HP,
    CHANNEL_WALL,
    TEAM_COLORS,
)

EMPTY_COLOR = (236, 232, 220)
WALL_COLOR = (60, 60, 70)
TARGET_PIXELS = 512
"""The picture's side is about this many pixels for maps up to 512 cells (1 px per cell above)."""


def cell_pixels(map_size: int) -> int:
    """Pixels per cell: the picture's side is about `TARGET_PIXELS` (at least 1 px per cell)."""
    return max(1, TARGET_PIXELS // map_size)


def render_state(cells: jax.Array) -> jax.Array:
    """Draw the map, y growing upwards on screen.

    An agent's colour is its team colour mixed with white by its lost HP (full HP: pure
    team colour; near death: a pale tint). The picture is padded at its right and bottom
    to a multiple of 16 pixels.

    Args:
        cells: u8[W, W, 5] from `observe.map_interior` (team 0 is "own").

    Returns:
        u8[H', W', 3] with H', W' multiples of 16.
    """
    size = cells.shape[0]
    px = cell_pixels(size)
    colors = jnp.broadcast_to(jnp.asarray(EMPTY_COLOR, jnp.float32), (size, size, 3))
    wall = (cells[..., CHANNEL_WALL] > 0)[..., None]
    colors = jnp.where(wall, jnp.asarray(WALL_COLOR, jnp.float32)[None, None, :], colors)
    channels = ((CHANNEL_OWN, CHANNEL_OWN_HP), (CHANNEL_ENEMY, CHANNEL_ENEMY_HP))
    for team, (presence, level) in enumerate(channels):
        present = cells[..., presence] > 0
        health = (0.35 + 0.65 * cells[..., level].astype(jnp.float32) / 255.0)[..., None]
        team_rgb = jnp.asarray(TEAM_COLORS[team], jnp.float32)[None, None, :]
        tinted = health * team_rgb + (1.0 - health) * 255.0
        colors = jnp.where(present[..., None], tinted, colors)
    image = jnp.repeat(jnp.repeat(colors.astype(jnp.uint8), px, axis=0), px, axis=1)
    image = jnp.transpose(image, (1, 0, 2))[::-1]  # rows = y (top first), columns = x
    side = size * px
    padded = -(-side // 16) * 16
    canvas = jnp.broadcast_to(jnp.asarray(EMPTY_COLOR, jnp.uint8), (padded, padded, 3))
    return canvas.at[:side, :side].set(image)
