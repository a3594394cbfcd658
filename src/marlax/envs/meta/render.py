"""Pictures of the 2-D task families: discs on a white canvas (y axis up)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

GOAL_COLOUR = (60, 180, 75)
AGENT_COLOUR = (0, 90, 200)
DISC_RADIUS = 0.04  # world units


def draw_discs(centres: jax.Array, colours: jax.Array, half_width: float, size: int) -> jax.Array:
    """Filled discs, later ones on top.

    Args:
        centres: f32[E, 2] world positions; the view is [-half_width, half_width]^2.
        colours: f32[E, 3] RGB in [0, 255].
        half_width: half the side of the view, in world units.
        size: side of the image in pixels.

    Returns:
        u8[size, size, 3].
    """
    pixel = (jnp.arange(size, dtype=jnp.float32) + 0.5) / size * 2.0 - 1.0
    world_x = pixel[None, :, None] * half_width  # f32[1, S, 1]
    world_y = -pixel[:, None, None] * half_width  # f32[S, 1, 1]: rows go down, y goes up
    dist = jnp.hypot(world_x - centres[None, None, :, 0], world_y - centres[None, None, :, 1])
    inside = dist <= DISC_RADIUS * half_width / 0.6
    order = jnp.arange(centres.shape[0])
    top = jnp.max(jnp.where(inside, order[None, None, :], -1), axis=-1)  # i32[S, S]
    image = jnp.where((top >= 0)[..., None], colours[jnp.maximum(top, 0)], 255.0)
    return image.astype(jnp.uint8)
