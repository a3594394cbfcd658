"""Card decks as popgym's `Deck` lays them out, for jitted card games.

popgym numbers the cards of `num_decks` stacked 52-card decks 0 .. 52*num_decks - 1 and
reads a card's fields from tiled tables: suit `card % 4` (spades, diamonds, clubs, hearts),
colour `card % 2` (black, red) and rank `(card % 52) // 4` (ace .. king). A reset shuffles
the card ids (`rng.shuffle(idx)`), and `deal` hands out cards from the END of that array,
so the n-th card dealt is `idx[-1 - n]`. Here a shuffled deck is kept in *deal order*.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

CARDS_PER_DECK = 52
NUM_SUITS = 4
NUM_COLORS = 2
NUM_RANKS = 13


def shuffled_deck(key: jax.Array, num_cards: int) -> jax.Array:
    """A uniformly shuffled deck, as popgym's `Deck.idx` after `reset`: i32[num_cards]."""
    return jax.random.permutation(key, num_cards).astype(jnp.int32)


def deal_order(deck_idx: jax.Array) -> jax.Array:
    """Cards in the order popgym deals them (from the end of `idx`): i32[C] -> i32[C]."""
    return jnp.flip(jnp.asarray(deck_idx, jnp.int32), axis=0)


def suit_of(card: jax.Array) -> jax.Array:
    """popgym's `suits_idx[card]`: i32[...] in [0, 4)."""
    return card % NUM_SUITS


def color_of(card: jax.Array) -> jax.Array:
    """popgym's `colors_idx[card]`: i32[...] in [0, 2)."""
    return card % NUM_COLORS


def rank_of(card: jax.Array) -> jax.Array:
    """popgym's `ranks_idx[card]`: i32[...] in [0, 13)."""
    return (card % CARDS_PER_DECK) // NUM_SUITS
