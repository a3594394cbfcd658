"""POPGym Autoencode: watch a deck being dealt, then name its suits in reverse order."""

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

WATCH_FLAG = 1.0  # popgym's Mode.WATCH; Mode.PLAY is 0


@dataclass(frozen=True)
class Autoencode(SuitCardGame):
    """popgym's `Autoencode` (popgym 1.0.7, `popgym/envs/autoencode.py`), one agent.

    Watch phase: the reset shows card 0, steps t = 0 .. C - 2 deal card t + 1 (the action
    is ignored, reward 0). The observation of the last dealt card already carries the
    play flag. Play phase: steps t = C - 1 .. 2C - 2 ask for the suits in reverse deal
    order (card C - 1 first); the observation is then (play, suit 0), popgym's
    `make_obs(np.array([0]))`, which shows nothing.

    - **obs** `f32[1, 5]`: [mode flag (1 watch, 0 play), one-hot suit] (popgym:
      `Tuple(Discrete(2), Discrete(4))`).
    - **actions** `i32[1]` in `Discrete(4)`: a suit (only judged in the play phase).
    - **reward** `f32[1]`: 0 while watching; +-1 / C per recalled suit, so a perfect
      episode returns 1.
    - **termination** after 2C - 1 steps (the last card recalled); never truncated.
    - **state** `CardState`: cards i32[C] in deal order, step i32[].

    Difficulty (num_decks): easy 1, medium 2, hard 3.
    """

    name: ClassVar[str] = "popgym_autoencode"
    SETTINGS: ClassVar[dict[str, int]] = {"easy": 1, "medium": 2, "hard": 3}

    @property
    def episode_length(self) -> int:
        return 2 * self.num_cards - 1

    @property
    def observation_space(self) -> Space:
        return Box(0.0, 1.0, (1 + NUM_SUITS,))

    def _step(
        self, key: jax.Array, state: CardState, actions: jax.Array
    ) -> tuple[jax.Array, CardState, jax.Array, jax.Array, Info]:
        """Watch: deal card t + 1. Play: judge the suit of card 2C - 2 - t; actions i32[1]."""
        del key  # the deck was shuffled at reset
        action = actions.reshape(()).astype(jnp.int32)
        last = self.num_cards - 1
        playing = state.step >= last
        recalled = state.cards[jnp.clip(2 * last - state.step, 0, last)]
        reward = jnp.where(
            playing,
            signed_reward(action == suit_of(recalled), 1.0 / self.num_cards),
            jnp.float32(0.0),
        )
        terminated = state.step == 2 * last
        state = state.replace(step=state.step + 1)
        return self._observe(state), state, reward[None], terminated, {}

    def _observe(self, state: CardState) -> jax.Array:
        """f32[1, 5]: [mode flag, one-hot suit of the card dealt last, or of card id 0]."""
        last = self.num_cards - 1
        watching = state.step < last
        dealing = state.step <= last  # the step that deals the last card shows it
        card = jnp.where(dealing, state.cards[jnp.minimum(state.step, last)], 0)
        flag = jnp.where(watching, jnp.float32(WATCH_FLAG), jnp.float32(0.0))
        return jnp.concatenate([flag[None], one_hot(suit_of(card), NUM_SUITS)])[None, :]

    def render(self, state: CardState) -> jax.Array:
        """The card shown now (blue flag while watching): u8[80, 64, 3]."""
        last = self.num_cards - 1
        card = jnp.where(state.step <= last, state.cards[jnp.minimum(state.step, last)], 0)
        return render_cards(card[None], state.step / self.max_steps, state.step < last)
