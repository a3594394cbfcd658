"""Pure-JAX picture of a simple_spread state: filled circles on a white canvas."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.simple_spread.constants import (
    AGENT_COLOUR,
    AGENT_SIZE,
    LANDMARK_COLOUR,
    LANDMARK_SIZE,
)
from marlax.envs.simple_spread.types import State

_BORDER = 0.012
"""Width of the black outline of each circle, in world units at the default zoom."""


def render_state(state: State, size: int) -> jax.Array:
    """Draw landmarks, then agents on top, like mpe2's renderer (y axis up).

    The camera is centred on the origin and zooms out to keep every entity in view
    (mpe2's dynamic camera): the half-width is `max(1, max |coordinate|) / 0.9`.

    Args:
        state: State.
        size: side of the image in pixels.

    Returns:
        u8[size, size, 3].
    """
    centres = jnp.concatenate([state.landmark_pos, state.agent_pos])  # f32[E, 2]
    num_landmarks = state.landmark_pos.shape[0]
    radii = jnp.concatenate(
        [
            jnp.full((num_landmarks,), LANDMARK_SIZE),
            jnp.full((state.agent_pos.shape[0],), AGENT_SIZE),
        ]
    )
    colours = jnp.concatenate(
        [
            jnp.tile(jnp.asarray(LANDMARK_COLOUR, jnp.float32), (num_landmarks, 1)),
            jnp.tile(jnp.asarray(AGENT_COLOUR, jnp.float32), (state.agent_pos.shape[0], 1)),
        ]
    )
    half_width = jnp.maximum(1.0, jnp.max(jnp.abs(centres))) / 0.9
    pixel = (jnp.arange(size, dtype=jnp.float32) + 0.5) / size * 2.0 - 1.0
    world_x = pixel[None, :, None] * half_width  # f32[1, S, 1]: columns go right
    world_y = -pixel[:, None, None] * half_width  # f32[S, 1, 1]: rows go down, y goes up
    dist = jnp.sqrt(
        jnp.square(world_x - centres[None, None, :, 0])
        + jnp.square(world_y - centres[None, None, :, 1])
    )  # f32[S, S, E]
    inside = dist <= radii[None, None, :]
    # later entities are drawn on top: pick the last one that covers the pixel
    order = jnp.arange(centres.shape[0])
    top = jnp.max(jnp.where(inside, order[None, None, :], -1), axis=-1)  # i32[S, S]
    fill = jnp.where((top >= 0)[..., None], colours[jnp.maximum(top, 0)], 255.0)
    top_dist = jnp.take_along_axis(dist, jnp.maximum(top, 0)[..., None], axis=-1)[..., 0]
    on_border = (top >= 0) & (top_dist >= radii[jnp.maximum(top, 0)] - _BORDER * half_width)
    image = jnp.where(on_border[..., None], 0.0, fill)
    return image.astype(jnp.uint8)
