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


TRACK_COLOUR = (150, 150, 150)
PULL_COLOURS = ((200, 80, 80), (60, 180, 75))  # the last pulled arm: no reward, reward
BAR_COLOUR = (120, 120, 140)
GAUGE_COLOUR = (225, 225, 225)


def draw_track(
    position_fraction: jax.Array,
    speed_fraction: jax.Array,
    target_fraction: jax.Array,
    height: int = 64,
    width: int = 256,
) -> jax.Array:
    """A point mass on a looping track (top) above a speed gauge (bottom).

    Args:
        position_fraction: f32[] where the mass is along the track, in [0, 1).
        speed_fraction: f32[] the speed as a fraction of the gauge (clipped to [0, 1]).
        target_fraction: f32[] the target speed on the same gauge (a green tick).
        height: image height in pixels (the track takes the top half).
        width: image width in pixels.

    Returns:
        u8[height, width, 3].
    """
    rows = jnp.arange(height, dtype=jnp.float32)[:, None] + 0.5  # f32[H, 1]
    cols = jnp.arange(width, dtype=jnp.float32)[None, :] + 0.5  # f32[1, W]
    track_row = height / 4
    radius = height / 8
    mass_col = position_fraction * width
    on_track = jnp.abs(rows - track_row) < 1.0
    on_mass = jnp.hypot(rows - track_row, cols - mass_col) <= radius
    in_gauge = (rows > height * 0.625) & (rows < height * 0.875)
    on_speed = in_gauge & (cols <= jnp.clip(speed_fraction, 0.0, 1.0) * width)
    on_target = in_gauge & (jnp.abs(cols - target_fraction * width) < 2.0)
    image = jnp.full((height, width, 3), 255.0)
    for mask, colour in (
        (on_track, TRACK_COLOUR),
        (in_gauge, GAUGE_COLOUR),
        (on_speed, AGENT_COLOUR),
        (on_target, GOAL_COLOUR),
        (on_mass, AGENT_COLOUR),
    ):
        image = jnp.where(mask[..., None], jnp.asarray(colour, jnp.float32)[None, None, :], image)
    return image.astype(jnp.uint8)


def draw_bars(
    heights: jax.Array, highlight: jax.Array, highlight_colour: jax.Array, bar_px: int = 32
) -> jax.Array:
    """Vertical bars on a white canvas, one per arm; one bar may be drawn in its own colour.

    Args:
        heights: f32[K] bar heights as fractions of the image height, in [0, 1].
        highlight: i32[] the bar to colour with `highlight_colour`; -1 for none.
        highlight_colour: f32[3] RGB in [0, 255].
        bar_px: width of one bar's column in pixels (a multiple of 16).

    Returns:
        u8[128, K * bar_px, 3].
    """
    height = 128
    num_bars = heights.shape[0]
    rows = jnp.arange(height, dtype=jnp.float32)[:, None] + 0.5  # f32[H, 1]
    cols = jnp.arange(num_bars * bar_px)[None, :]  # i32[1, W]
    bar = cols // bar_px  # i32[1, W]
    in_column = (cols % bar_px >= bar_px // 8) & (cols % bar_px < bar_px - bar_px // 8)
    filled = in_column & (rows >= height * (1.0 - heights[bar]))  # bool[H, W]
    colour = jnp.where(
        (bar == highlight)[..., None],
        highlight_colour[None, None, :],
        jnp.asarray(BAR_COLOUR, jnp.float32)[None, None, :],
    )  # f32[1, W, 3]
    on_floor = rows >= height - 1.0
    image = jnp.where(filled[..., None], colour, 255.0)
    floor_colour = jnp.asarray(TRACK_COLOUR, jnp.float32)[None, None, :]
    image = jnp.where(on_floor[..., None], floor_colour, image)
    return image.astype(jnp.uint8)
