"""Picture of the energy-flow world: an energy heat map with pathways, sources and agents."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.energy_flow.types import State
from marlax.envs.grid.render import cell_pixels

# heat map stops for energy fractions 0, 0.5 and 1: dark blue-grey, orange, pale yellow
HEAT_STOPS = np.array([[24, 26, 40], [220, 110, 30], [255, 240, 140]], dtype=np.float32)
PATHWAY_COLOR = (70, 140, 240)  # frame of pathway cells
SOURCE_COLOR = (230, 30, 60)  # diamond on source cells
AGENT_COLOR = (250, 250, 250)  # square on agent cells
AGENT_EDGE_COLOR = (10, 10, 10)


def heat_colors(fraction: jax.Array) -> jax.Array:
    """Piecewise-linear colour map of values in [0, 1]: f32[..., 3] (0-255)."""
    low = jnp.clip(fraction * 2.0, 0.0, 1.0)[..., None]
    high = jnp.clip(fraction * 2.0 - 1.0, 0.0, 1.0)[..., None]
    dark, middle, bright = jnp.asarray(HEAT_STOPS).reshape(3, *([1] * fraction.ndim), 3)
    return jnp.where(
        high > 0, middle * (1.0 - high) + bright * high, dark * (1.0 - low) + middle * low
    )


def _cell_patterns(cell_px: int) -> tuple[np.ndarray, ...]:
    """bool[px, px] masks inside one cell: pathway frame, source diamond, agent square, edge."""
    pixel = np.arange(cell_px) - (cell_px - 1) / 2.0
    dx, dy = np.abs(pixel)[:, None], np.abs(pixel)[None, :]
    frame = np.maximum(dx, dy) >= cell_px / 2.0 - max(1, cell_px // 8)
    diamond = dx + dy <= cell_px / 3.0
    agent = np.maximum(dx, dy) <= cell_px / 4.0
    agent_edge = agent & (np.maximum(dx, dy) > cell_px / 4.0 - max(1, cell_px // 16))
    return frame, diamond, agent, agent_edge


def render_state(state: State, cell_capacity: float) -> jax.Array:
    """Heat map of cell energy (y grows upwards), pathway cells framed in blue,
    sources as red diamonds, agents as white squares with a dark edge.

    Args:
        state: the world; cell_capacity: energy shown at full heat.

    Returns:
        u8[H * px, W * px, 3] with px = `grid.render.cell_pixels(W, H)` (a multiple of 16).
    """
    width, height = state.cell_energy.shape
    cell_px = cell_pixels(width, height)
    frame, diamond, agent, agent_edge = (jnp.asarray(m) for m in _cell_patterns(cell_px))
    is_source = (
        jnp.zeros((width, height), bool)
        .at[state.source_positions[:, 0], state.source_positions[:, 1]]
        .set(True)
    )
    has_agent = (
        jnp.zeros((width, height), bool)
        .at[state.agent_positions[:, 0], state.agent_positions[:, 1]]
        .set(True)
    )
    heat = heat_colors(jnp.clip(state.cell_energy / cell_capacity, 0.0, 1.0))  # [W, H, 3]
    pixels = jnp.broadcast_to(heat[:, :, None, None, :], (width, height, cell_px, cell_px, 3))

    def _paint(image: jax.Array, cells: jax.Array, pattern: jax.Array, color) -> jax.Array:
        where = (cells[:, :, None, None] & pattern[None, None, :, :])[..., None]
        return jnp.where(where, jnp.asarray(color, jnp.float32), image)

    pixels = _paint(pixels, state.pathway_mask, frame, PATHWAY_COLOR)
    pixels = _paint(pixels, is_source, diamond, SOURCE_COLOR)
    pixels = _paint(pixels, has_agent, agent, AGENT_COLOR)
    pixels = _paint(pixels, has_agent, agent_edge, AGENT_EDGE_COLOR)
    # [W, H, px(x), px(y), 3] -> image rows (y, top first) and columns (x)
    image = pixels.transpose(1, 3, 0, 2, 4).reshape(height * cell_px, width * cell_px, 3)
    return jnp.round(image[::-1]).astype(jnp.uint8)
