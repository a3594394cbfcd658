"""What the three suit-recall card games share: one shuffled deck, answers are suits."""

from __future__ import annotations

import abc
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from marlax.envs.popgym.common import PopGymEnv
from marlax.envs.popgym.deck import CARDS_PER_DECK, NUM_SUITS, deal_order, shuffled_deck
from marlax.envs.popgym.types import CardState
from marlax.envs.spaces import Discrete, Space


@dataclass(frozen=True)
class SuitCardGame(PopGymEnv):
    """Base of RepeatPrevious, RepeatFirst and Autoencode: a deck of C = 52 * num_decks cards
    shuffled at reset and dealt in order; every action names a suit.

    Subclasses give `num_decks` (from their difficulty's settings), `_observe` and `_step`.
    """

    @property
    def num_decks(self) -> int:
        """Decks in the shuffle (popgym's `num_decks`); the settings are that number itself."""
        return self.settings

    @property
    def num_cards(self) -> int:
        """C: cards in the deck."""
        return CARDS_PER_DECK * self.num_decks

    @property
    def action_space(self) -> Space:
        return Discrete(NUM_SUITS)

    def reset(self, key: jax.Array) -> tuple[jax.Array, CardState]:
        """Shuffle a deck and deal its first card."""
        return self.reset_from(shuffled_deck(key, self.num_cards))

    def reset_from(self, deck_idx: jax.Array) -> tuple[jax.Array, CardState]:
        """Start from a given shuffle, popgym's `Deck.idx` i32[C] (used to inject its draws)."""
        state = CardState(cards=deal_order(deck_idx), step=jnp.asarray(0, jnp.int32))
        return self._observe(state), state

    @abc.abstractmethod
    def _observe(self, state: CardState) -> jax.Array:
        """f32[1, obs_dim]: what the agent sees in `state`."""
