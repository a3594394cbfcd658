"""POPGym CountRecall: say how often the queried card value has been dealt so far."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Info
from marlax.envs.popgym.common import PopGymEnv, one_hot, signed_reward
from marlax.envs.popgym.deck import (
    CARDS_PER_DECK,
    NUM_COLORS,
    NUM_RANKS,
    NUM_SUITS,
    color_of,
    deal_order,
    rank_of,
    shuffled_deck,
    suit_of,
)
from marlax.envs.popgym.render import render_cards
from marlax.envs.popgym.types import CountRecallState
from marlax.envs.spaces import Box, Discrete, Space

# popgym's deck_type -> (number of distinct values D, card id -> value)
VALUE_TYPES = {
    "colors": (NUM_COLORS, color_of),
    "suits": (NUM_SUITS, suit_of),
    "ranks": (NUM_RANKS, rank_of),
}


@dataclass(frozen=True)
class CountRecall(PopGymEnv):
    """popgym's `CountRecall` (popgym 1.0.7, `popgym/envs/count_recall.py`), one agent.

    Two decks of C = 52 * num_decks cards, shuffled apart, are dealt in lockstep: a value
    card (counted) and a query card (asked about). Each step answers how many dealt value
    cards, up to and including the current one, share the current query card's value;
    then the next pair is dealt.

    - **obs** `f32[1, 2D]`: [one-hot value of the dealt card, one-hot value queried]
      (popgym: `MultiDiscrete([D, D])`).
    - **actions** `i32[1]` in `Discrete(C / D + 1)`: a count.
    - **reward** `f32[1]`: +-1 / (C - 1) for a right / wrong count, so a perfect episode
      returns 1 (popgym's `error_clamp` is stored there but never used).
    - **termination** after C - 1 steps (the value deck is empty); never truncated.
    - **state** `CountRecallState`: values, queries i32[C], counts i32[D], step i32[].

    Difficulty (num_decks, deck_type): easy (1, colors), medium (2, suits),
    hard (4, ranks).
    """

    name: ClassVar[str] = "popgym_count_recall"
    SETTINGS: ClassVar[dict[str, tuple[int, str]]] = {
        "easy": (1, "colors"),
        "medium": (2, "suits"),
        "hard": (4, "ranks"),
    }

    @property
    def num_cards(self) -> int:
        """C: cards in each deck."""
        return CARDS_PER_DECK * self.settings[0]

    @property
    def num_values(self) -> int:
        """D: distinct values of the deck type (2 colours, 4 suits, 13 ranks)."""
        return VALUE_TYPES[self.settings[1]][0]

    @property
    def max_card_count(self) -> int:
        """The largest possible count, C / D."""
        return self.num_cards // self.num_values

    @property
    def episode_length(self) -> int:
        return self.num_cards - 1

    @property
    def observation_space(self) -> Space:
        return Box(0.0, 1.0, (2 * self.num_values,))

    @property
    def action_space(self) -> Space:
        return Discrete(self.max_card_count + 1)

    def reset(self, key: jax.Array) -> tuple[jax.Array, CountRecallState]:
        """Shuffle both decks (value deck first, as popgym) and deal a pair; obs f32[1, 2D]."""
        value_key, query_key = jax.random.split(key)
        return self.reset_from(
            shuffled_deck(value_key, self.num_cards), shuffled_deck(query_key, self.num_cards)
        )

    def reset_from(
        self, value_idx: jax.Array, query_idx: jax.Array
    ) -> tuple[jax.Array, CountRecallState]:
        """Start from given shuffles, popgym's `value_deck.idx` and `query_deck.idx` i32[C]."""
        value_of = VALUE_TYPES[self.settings[1]][1]
        values = value_of(deal_order(value_idx))
        state = CountRecallState(
            values=values,
            queries=value_of(deal_order(query_idx)),
            counts=jax.nn.one_hot(values[0], self.num_values, dtype=jnp.int32),
            step=jnp.asarray(0, jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: CountRecallState, actions: jax.Array
    ) -> tuple[jax.Array, CountRecallState, jax.Array, jax.Array, Info]:
        """Judge the count of the value queried now, deal pair t + 1; actions i32[1]."""
        del key  # the decks were shuffled at reset
        action = actions.reshape(()).astype(jnp.int32)
        t = state.step
        asked_count = state.counts[state.queries[jnp.minimum(t, self.num_cards - 1)]]
        reward = signed_reward(action == asked_count, 1.0 / (self.num_cards - 1))
        dealt = state.values[jnp.minimum(t + 1, self.num_cards - 1)]
        # past the episode end no card is left to count
        still_dealing = (t + 1 < self.num_cards).astype(jnp.int32)
        counts = state.counts + jax.nn.one_hot(dealt, self.num_values, dtype=jnp.int32) * (
            still_dealing
        )
        terminated = t == self.num_cards - 2
        state = state.replace(counts=counts, step=t + 1)
        return self._observe(state), state, reward[None], terminated, {}

    def _observe(self, state: CountRecallState) -> jax.Array:
        """f32[1, 2D]: one-hot dealt value, one-hot queried value."""
        index = jnp.minimum(state.step, self.num_cards - 1)
        value = one_hot(state.values[index], self.num_values)
        query = one_hot(state.queries[index], self.num_values)
        return jnp.concatenate([value, query])[None, :]

    def render(self, state: CountRecallState) -> jax.Array:
        """The dealt and the queried value, each as a card of that value: u8[80, 128, 3]."""
        index = jnp.minimum(state.step, self.num_cards - 1)
        shown = jnp.stack([state.values[index], state.queries[index]])
        return render_cards(_value_card(shown, self.settings[1]), state.step / self.max_steps)


def _value_card(values: jax.Array, deck_type: str) -> jax.Array:
    """A card id that has each value (for the picture): i32[K] -> i32[K]."""
    if deck_type == "ranks":
        return values * NUM_SUITS  # the spade of that rank
    return values  # card ids 0..3 have suits 0..3 and colours 0, 1
