"""POPGym RepeatPrevious: name the suit of the card dealt k - 1 steps before the current one."""

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
class RepeatPrevious(SuitCardGame):
    """popgym's `RepeatPrevious` (popgym 1.0.7, `popgym/envs/repeat_previous.py`), one agent.

    A shuffled deck of C = 52 * num_decks cards is dealt one card a step. After the reset
    shows card 0, step t (0-based) judges the action against the suit of card t + 1 - k
    (popgym's `hand[-k]`, the hand holding cards 0..t), then deals card t + 1.

    - **obs** `f32[1, 4]`: one-hot suit of the card just dealt (popgym: `Discrete(4)`).
    - **actions** `i32[1]` in `Discrete(4)`: a suit.
    - **reward** `f32[1]`: 0 while t + 1 < k, then +-1 / (C - k) for a right / wrong suit,
      so a perfect episode returns 1.
    - **termination** after C - 1 steps (popgym: when one card is left in the deck);
      never truncated.
    - **state** `CardState`: cards i32[C] in deal order, step i32[].

    Difficulty (num_decks, k): easy (1, 4), medium (2, 32), hard (3, 64).
    """

    name: ClassVar[str] = "popgym_repeat_previous"
    SETTINGS: ClassVar[dict[str, tuple[int, int]]] = {
        "easy": (1, 4),
        "medium": (2, 32),
        "hard": (3, 64),
    }

    @property
    def num_decks(self) -> int:
        return self.settings[0]

    @property
    def k(self) -> int:
        """popgym's k: the answer is the suit of `hand[-k]`."""
        return self.settings[1]

    @property
    def episode_length(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> Space:
        return Box(0.0, 1.0, (NUM_SUITS,))

    def _step(
        self, key: jax.Array, state: CardState, actions: jax.Array
    ) -> tuple[jax.Array, CardState, jax.Array, jax.Array, Info]:
        """Judge the suit of card t + 1 - k, deal card t + 1; actions i32[1]."""
        del key  # the deck was shuffled at reset
        action = actions.reshape(()).astype(jnp.int32)
        t = state.step
        asked = suit_of(state.cards[jnp.maximum(t + 1 - self.k, 0)])
        judged = t + 1 >= self.k
        scale = 1.0 / (self.num_cards - self.k)
        reward = jnp.where(judged, signed_reward(action == asked, scale), jnp.float32(0.0))
        terminated = t == self.num_cards - 2
        state = state.replace(step=t + 1)
        return self._observe(state), state, reward[None], terminated, {}

    def _observe(self, state: CardState) -> jax.Array:
        """f32[1, 4]: one-hot suit of the card dealt last (clipped past the episode end)."""
        card = state.cards[jnp.minimum(state.step, self.num_cards - 1)]
        return one_hot(suit_of(card), NUM_SUITS)[None, :]

    def render(self, state: CardState) -> jax.Array:
        """The card dealt last and the episode's progress: u8[80, 64, 3]."""
        card = state.cards[jnp.minimum(state.step, self.num_cards - 1)]
        return render_cards(card[None], state.step / self.max_steps)
