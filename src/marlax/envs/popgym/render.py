"""Pictures of the POPGym ports: the cards just dealt, or the cart and its pole."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.popgym.deck import NUM_RANKS, rank_of, suit_of

CELL_PX = 64  # one card per 64 x 64 cell
BAR_PX = 16  # progress bar under the cards
BACKGROUND = (30, 30, 36)
CARD_COLOR = (235, 235, 225)
# popgym's suit order: spades, diamonds, clubs, hearts
SUIT_COLORS = ((40, 40, 60), (230, 140, 30), (40, 150, 70), (210, 40, 50))
RANK_TICK_COLOR = (90, 90, 100)
RANK_LIT_COLOR = (0, 110, 230)
BAR_COLOR = (255, 230, 0)
FLAG_COLOR = (120, 200, 255)

CART_W_PX, CART_H_PX = 192, 96
TRACK_ROW = 72  # pixel row of the track
X_LIMIT = 2.4  # gymnasium's x_threshold: the track's half width in metres
POLE_PX = 48  # drawn pole length (the pole is 1 m long)
CART_COLOR = (200, 200, 210)
POLE_COLOR = (205, 150, 100)


def _card_cell(card: jax.Array) -> jax.Array:
    """u8[64, 64, 3]: a card face, its suit as a coloured block, its rank as a lit tick."""
    rows = jnp.arange(CELL_PX)[:, None]
    cols = jnp.arange(CELL_PX)[None, :]
    body = (rows >= 4) & (rows < 60) & (cols >= 8) & (cols < 56)
    block = (rows >= 22) & (rows < 46) & (cols >= 20) & (cols < 44)
    # 13 ticks of 2 px, one per rank, along the card's top edge
    tick_index = (cols - 10) // 3
    is_tick = (rows >= 8) & (rows < 16) & (cols >= 10) & ((cols - 10) % 3 < 2)
    is_tick = is_tick & (tick_index < NUM_RANKS)
    lit = is_tick & (tick_index == rank_of(card))
    suit_rgb = jnp.asarray(SUIT_COLORS, jnp.uint8)[suit_of(card)]
    image = jnp.broadcast_to(jnp.asarray(BACKGROUND, jnp.uint8), (CELL_PX, CELL_PX, 3))
    image = jnp.where(body[..., None], jnp.asarray(CARD_COLOR, jnp.uint8), image)
    image = jnp.where(block[..., None], suit_rgb, image)
    image = jnp.where(is_tick[..., None], jnp.asarray(RANK_TICK_COLOR, jnp.uint8), image)
    return jnp.where(lit[..., None], jnp.asarray(RANK_LIT_COLOR, jnp.uint8), image)


def render_cards(cards: jax.Array, progress: jax.Array, flag: jax.Array | None = None) -> jax.Array:
    """Cards side by side over a progress bar.

    Args:
        cards: i32[K] card ids to show, left to right.
        progress: f32[] fraction of the episode played, in [0, 1].
        flag: optional bool[]; when set, the bar's left quarter is lit blue (autoencode's
            watch phase).

    Returns:
        u8[64 + 16, 64 * K, 3].
    """
    cells = jax.vmap(_card_cell)(cards)  # u8[K, 64, 64, 3]
    top = cells.transpose(1, 0, 2, 3).reshape(CELL_PX, CELL_PX * cards.shape[0], 3)
    width = top.shape[1]
    cols = jnp.arange(width)[None, :]
    rows = jnp.arange(BAR_PX)[:, None]
    inside = (rows >= 4) & (rows < BAR_PX - 4)
    filled = inside & (cols < jnp.clip(progress, 0.0, 1.0) * width)
    bar = jnp.where(
        filled[..., None],
        jnp.asarray(BAR_COLOR, jnp.uint8),
        jnp.asarray(BACKGROUND, jnp.uint8),
    )
    if flag is not None:
        lit = (rows < 4) & (cols < width // 4) & flag
        bar = jnp.where(lit[..., None], jnp.asarray(FLAG_COLOR, jnp.uint8), bar)
    return jnp.concatenate([top, bar], axis=0)


def render_cartpole(physics: jax.Array) -> jax.Array:
    """The cart on its track and the pole at its angle.

    Args:
        physics: f32[4] (x, x_dot, theta, theta_dot).

    Returns:
        u8[96, 192, 3].
    """
    rows = jnp.arange(CART_H_PX)[:, None].astype(jnp.float32)
    cols = jnp.arange(CART_W_PX)[None, :].astype(jnp.float32)
    scale = (CART_W_PX / 2) / (X_LIMIT + 0.4)  # pixels per metre, margin past the limit
    cart_col = CART_W_PX / 2 + physics[0] * scale
    track = jnp.abs(rows - TRACK_ROW) < 1
    cart = (jnp.abs(cols - cart_col) < 12) & (rows >= TRACK_ROW - 10) & (rows < TRACK_ROW)
    # the pole: pixels within 2 px of the segment from the pivot, at angle theta from vertical
    pivot_row, pivot_col = TRACK_ROW - 10.0, cart_col
    tip_row = pivot_row - POLE_PX * jnp.cos(physics[2])
    tip_col = pivot_col + POLE_PX * jnp.sin(physics[2])
    seg_row, seg_col = tip_row - pivot_row, tip_col - pivot_col
    along = ((rows - pivot_row) * seg_row + (cols - pivot_col) * seg_col) / (POLE_PX**2)
    along = jnp.clip(along, 0.0, 1.0)
    near_row = pivot_row + along * seg_row - rows
    near_col = pivot_col + along * seg_col - cols
    pole = near_row**2 + near_col**2 < 2.5**2
    image = jnp.broadcast_to(jnp.asarray(BACKGROUND, jnp.uint8), (CART_H_PX, CART_W_PX, 3))
    image = jnp.where(track[..., None], jnp.asarray(RANK_TICK_COLOR, jnp.uint8), image)
    image = jnp.where(cart[..., None], jnp.asarray(CART_COLOR, jnp.uint8), image)
    return jnp.where(pole[..., None], jnp.asarray(POLE_COLOR, jnp.uint8), image)
