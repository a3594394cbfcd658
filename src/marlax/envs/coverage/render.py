"""Pure-JAX picture of a coverage state, O(N) in the number of agents and targets.

The arena `[-h, h]^2` fills the image (y axis up). Each entity is stamped as a disc
through a small static stencil of pixel offsets (a scatter), instead of testing every
pixel against every entity (O(pixels x entities), 1e9 operations at N = 10,000).
Targets are drawn as their cover disc (red, green once covered), agents on top (blue).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.coverage.constants import (
    AGENT_COLOUR,
    AGENT_SIZE,
    COVERED_COLOUR,
    TARGET_COLOUR,
)
from marlax.envs.coverage.types import State


def stamp_discs(
    image: jax.Array,
    centres: jax.Array,
    draw: jax.Array,
    radius: float,
    colour: tuple[int, int, int],
    half_side: float,
) -> jax.Array:
    """Paint discs of `radius` (world units) at `centres` where `draw` holds.

    A disc is at least one pixel, so entities stay visible when the arena is large.

    Args:
        image: u8[S, S, 3].
        centres: f32[E, 2] world positions.
        draw: bool[E] which entities to paint.
        radius: disc radius in world units.
        colour: RGB.
        half_side: h; the image spans `[-h, h]^2`.

    Returns:
        u8[S, S, 3].
    """
    size = image.shape[0]
    pixels_per_unit = size / (2.0 * half_side)
    reach = max(0, math.ceil(radius * pixels_per_unit))
    span = np.arange(-reach, reach + 1, dtype=np.int32)
    offsets = np.stack(np.meshgrid(span, span, indexing="ij"), axis=-1).reshape(-1, 2)
    centre_pixel = jnp.floor((centres + half_side) * pixels_per_unit).astype(jnp.int32)
    centre_pixel = jnp.clip(centre_pixel, 0, size - 1)  # an agent on a wall stays in the image
    column = centre_pixel[:, None, 0] + offsets[None, :, 0]  # i32[E, O]
    row_up = centre_pixel[:, None, 1] + offsets[None, :, 1]
    # distance from each stencil pixel's centre to the entity's centre, in world units
    pixel_x = (column.astype(jnp.float32) + 0.5) / pixels_per_unit - half_side
    pixel_y = (row_up.astype(jnp.float32) + 0.5) / pixels_per_unit - half_side
    inside = (
        jnp.square(pixel_x - centres[:, None, 0]) + jnp.square(pixel_y - centres[:, None, 1])
        <= radius**2
    )
    is_centre = (offsets[:, 0] == 0) & (offsets[:, 1] == 0)
    inside = inside | jnp.asarray(is_centre)[None, :]  # every disc covers >= 1 pixel
    paint = inside & draw[:, None] & (column >= 0) & (column < size)
    paint = paint & (row_up >= 0) & (row_up < size)
    # pixels not painted point past the image and are dropped (negative indices would wrap)
    row = jnp.where(paint, size - 1 - row_up, size).reshape(-1)
    column = jnp.where(paint, column, size).reshape(-1)
    return image.at[row, column].set(jnp.asarray(colour, jnp.uint8), mode="drop")


def render_state(state: State, size: int, half_side: float, cover_radius: float) -> jax.Array:
    """Targets' cover discs, then agents on top, on white: u8[size, size, 3]."""
    image = jnp.full((size, size, 3), 255, jnp.uint8)
    image = stamp_discs(
        image, state.target_pos, ~state.covered, cover_radius, TARGET_COLOUR, half_side
    )
    image = stamp_discs(
        image, state.target_pos, state.covered, cover_radius, COVERED_COLOUR, half_side
    )
    everyone = jnp.ones((state.agent_pos.shape[0],), bool)
    return stamp_discs(image, state.agent_pos, everyone, AGENT_SIZE, AGENT_COLOUR, half_side)
