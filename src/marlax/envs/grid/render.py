"""Rendering of grid worlds to RGB pictures (pure JAX, so it jits and vmaps)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.grid.tiles import TILE_COLORS, UNIT_COLORS


def cell_pixels(width: int, height: int, target: int = 512) -> int:
    """Pixels per cell so the longer side is about `target` and a multiple of 16."""
    return max(16, (target // max(width, height)) // 16 * 16)


def render_grid(
    terrain: jax.Array,
    units: jax.Array,
    cell_px: int,
    unit_colors: np.ndarray = UNIT_COLORS,
    tile_colors: np.ndarray = TILE_COLORS,
) -> jax.Array:
    """Draw terrain cells and, inset in them, units; y grows upwards on screen.

    Args:
        terrain: i32[W, H] tile ids (rows of `tile_colors`).
        units: i32[W, H] unit ids (rows of `unit_colors`), 0 = none.
        cell_px: pixels per cell.
        unit_colors, tile_colors: u8[K, 3] palettes.

    Returns:
        u8[H * cell_px, W * cell_px, 3].
    """
    tile_rgb = jnp.asarray(tile_colors)[terrain]  # [W, H, 3]
    unit_rgb = jnp.asarray(unit_colors)[units]
    inset = max(1, cell_px // 6)
    pixel = jnp.arange(cell_px)
    inner = (pixel >= inset) & (pixel < cell_px - inset)
    unit_shape = inner[:, None] & inner[None, :]  # [px, px]
    has_unit = (units > 0)[:, :, None, None] & unit_shape[None, None]  # [W, H, px, px]
    cells = jnp.where(
        has_unit[..., None], unit_rgb[:, :, None, None, :], tile_rgb[:, :, None, None, :]
    )  # [W, H, px(x), px(y), 3]
    width, height = terrain.shape
    # to image rows (y, top first) and columns (x)
    image = cells.transpose(1, 3, 0, 2, 4).reshape(height * cell_px, width * cell_px, 3)
    return image[::-1].astype(jnp.uint8)


def draw_cell_outline(
    image: jax.Array, position: jax.Array, height: int, cell_px: int, color: tuple[int, int, int]
) -> jax.Array:
    """Outline one cell (e.g. the point-of-view agent) on an image from `render_grid`.

    Args:
        image: u8[H*px, W*px, 3]; position: i32[2] (x, y); height: map height H.

    Returns:
        u8[H*px, W*px, 3].
    """
    rows = jnp.arange(image.shape[0])[:, None]
    cols = jnp.arange(image.shape[1])[None, :]
    top = (height - 1 - position[1]) * cell_px
    left = position[0] * cell_px
    inside = (rows >= top) & (rows < top + cell_px) & (cols >= left) & (cols < left + cell_px)
    border = max(1, cell_px // 8)
    core = (
        (rows >= top + border)
        & (rows < top + cell_px - border)
        & (cols >= left + border)
        & (cols < left + cell_px - border)
    )
    ring = inside & ~core
    return jnp.where(ring[..., None], jnp.asarray(color, jnp.uint8)[None, None, :], image)
