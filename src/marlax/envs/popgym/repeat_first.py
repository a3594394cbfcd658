"""POPGym RepeatFirst: keep naming the suit of the first card dealt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Info
from marlax.envs.popgym.common import one_hot, signed_reward
from marlax.envs.popgym.deck import (
    NUM_SUITS,
    suit_of,
)
from marlax.envs.popgym.render import render_cards
from marlax.envs.popgym.suit_game import SuitCardGame
from marlax.envs.popgym.types import CardState
from marlax.envs.spaces import Box, Space


@dataclass(frozen=True)
class RepeatFirst(SuitCardGame):
    """popgym's `RepeatFirst` (popgym 1.0.7, `popgym/envs/repeat_first.py`), one agent.

    A shuffled deck of C = 52 * num_decks cards is dealt one card a step; the reset shows
    card 0 and every step asks for card 0's suit, then deals the next card. Like popgym,
    the observation carries no "first card" indicator: the first observation is the one.

    - **obs** `f32[1, 4]`: one-hot suit of the card just dealt (popgym: `Discrete(4)`).
    - **actions** `i32[1]` in `Discrete(4)`: a suit.
    - **reward** `f32[1]`: +-1 / (C - 1) for naming card 0's suit right / wrong, so a
      perfect episode returns 1.
    - **termination** after C - 1 steps (one card left in the deck); never truncated.
    - **state** `CardState`: cards i32[C] in deal order, step i32[].

    Difficulty (num_decks): easy 1, medium 8, hard 16.
    """

    name: ClassVar[str] = "popgym_repeat_first"
    SETTINGS: ClassVar[dict[str, int]] = {"easy": 1, "medium": 8, "hard": 16}

    @property
    def episode_length(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> Space:
        return Box(0.0, 1.0, (NUM_SUITS,))

    def _step(
        self, key: jax.Array, state: CardState, actions: jax.Array
    ) -> tuple[jax.Array, CardState, jax.Array, jax.Array, Info]:
        """Judge the answer against card 0's suit, deal card t + 1; actions i32[1]."""
        del key  # the deck was shuffled at reset
        action = actions.reshape(()).astype(jnp.int32)
        reward = signed_reward(action == suit_of(state.cards[0]), 1.0 / (self.num_cards - 1))
        terminated = state.step == self.num_cards - 2
        state = state.replace(step=state.step + 1)
        return self._observe(state), state, reward[None], terminated, {}

    def _observe(self, state: CardState) -> jax.Array:
        """f32[1, 4]: one-hot suit of the card dealt last (clipped past the episode end)."""
        card = state.cards[jnp.minimum(state.step, self.num_cards - 1)]
        return one_hot(suit_of(card), NUM_SUITS)[None, :]

    def render(self, state: CardState) -> jax.Array:
        """The first card and the card dealt last, over the progress: u8[80, 128, 3]."""
        card = state.cards[jnp.minimum(state.step, self.num_cards - 1)]
        return render_cards(jnp.stack([state.cards[0], card]), state.step / self.max_steps)
