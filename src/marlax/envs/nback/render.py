"""Picture of an n-back episode: the recent values and their correct answers."""

from __future__ import annotations

import colorsys

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.nback.generator import match_label
from marlax.envs.nback.types import State

WINDOW = 16  # values shown, the current one rightmost
CELL_PX = 32  # pixels per cell
BACKGROUND = (30, 30, 36)
MATCH_COLOR = (90, 200, 90)
NO_MATCH_COLOR = (200, 80, 80)
CURRENT_COLOR = (255, 230, 0)  # outline of the value shown now
LAG_COLOR = (255, 255, 255)  # outline of the value n steps back


def value_palette(max_value: int) -> np.ndarray:
    """One colour per value, hues evenly spaced: u8[max_value, 3]."""
    colors = [colorsys.hsv_to_rgb((0.58 + i / max_value) % 1.0, 0.6, 0.9) for i in range(max_value)]
    return (np.asarray(colors) * 255).round().astype(np.uint8)


def _ring(column: jax.Array, row: int, width_px: int) -> jax.Array:
    """bool[2*px, WINDOW*px]: a `width_px` thick outline of cell (row, column)."""
    rows = jnp.arange(2 * CELL_PX)[:, None]
    cols = jnp.arange(WINDOW * CELL_PX)[None, :]
    top, left = row * CELL_PX, column * CELL_PX
    inside = (rows >= top) & (rows < top + CELL_PX) & (cols >= left) & (cols < left + CELL_PX)
    core = (
        (rows >= top + width_px)
        & (rows < top + CELL_PX - width_px)
        & (cols >= left + width_px)
        & (cols < left + CELL_PX - width_px)
    )
    return inside & ~core


def render_state(state: State, max_value: int) -> jax.Array:
    """Top row: the last WINDOW values (current rightmost, outlined yellow; the one n
    steps back outlined white). Bottom row: each shown step's correct answer (green
    match, red no match). Steps before the episode start are left dark.

    Args:
        state: the n-back State; max_value: number of distinct values.

    Returns:
        u8[2 * CELL_PX, WINDOW * CELL_PX, 3] = u8[64, 512, 3].
    """
    last = state.values.shape[0] - 1
    now = jnp.minimum(state.step, last)
    steps = now - (WINDOW - 1) + jnp.arange(WINDOW)  # i32[WINDOW]
    shown = steps >= 0
    safe_steps = jnp.clip(steps, 0, last)
    values = state.values[safe_steps]
    labels = jax.vmap(match_label, in_axes=(None, None, 0))(state.values, state.n, safe_steps)
    background = jnp.asarray(BACKGROUND, jnp.uint8)
    value_rgb = jnp.where(shown[:, None], jnp.asarray(value_palette(max_value))[values], background)
    label_rgb = jnp.where(
        labels[:, None], jnp.asarray(MATCH_COLOR, jnp.uint8), jnp.asarray(NO_MATCH_COLOR, jnp.uint8)
    )
    label_rgb = jnp.where(shown[:, None], label_rgb, background)
    cells = jnp.stack([value_rgb, label_rgb])  # u8[2, WINDOW, 3]
    # a 2-pixel gap around every cell keeps neighbours apart
    pixel = jnp.arange(CELL_PX)
    inner = (pixel >= 2) & (pixel < CELL_PX - 2)
    filled = inner[:, None] & inner[None, :]  # [px, px]
    blocks = jnp.where(filled[None, None, :, :, None], cells[:, :, None, None, :], background)
    image = blocks.transpose(0, 2, 1, 3, 4).reshape(2 * CELL_PX, WINDOW * CELL_PX, 3)
    image = jnp.where(
        _ring(WINDOW - 1, 0, 3)[..., None], jnp.asarray(CURRENT_COLOR, jnp.uint8), image
    )
    lag_column = WINDOW - 1 - state.n
    lag_visible = (state.n > 0) & (lag_column >= 0) & (now >= state.n)
    lag_ring = _ring(lag_column, 0, 3) & lag_visible
    return jnp.where(lag_ring[..., None], jnp.asarray(LAG_COLOR, jnp.uint8), image)
