"""States of the POPGym ports (C = cards in the episode's deck, D = distinct card values)."""

from __future__ import annotations

import jax
from flax import struct


@struct.dataclass
class CardState:
    """A card game over one shuffled deck (repeat_previous, repeat_first, autoencode)."""

    cards: jax.Array  # i32[C] card ids in deal order; cards[t] is dealt at step t (0 = reset)
    step: jax.Array  # i32[] steps taken in this episode


@struct.dataclass
class CountRecallState:
    """count_recall: two decks dealt in lockstep, and the running counts of dealt values."""

    values: jax.Array  # i32[C] value of each dealt card (colour, suit or rank) in deal order
    queries: jax.Array  # i32[C] value asked about at each step, in deal order
    counts: jax.Array  # i32[D] how often each value has been dealt so far
    step: jax.Array  # i32[] steps taken in this episode


@struct.dataclass
class CartPoleState:
    """Cart-pole physics (gymnasium's CartPole-v1 dynamics) behind a partial observation."""

    physics: jax.Array  # f32[4] (x, x_dot, theta, theta_dot): m, m/s, rad, rad/s
    has_terminated: jax.Array  # bool[] a termination was already reported this episode
    step: jax.Array  # i32[] steps taken in this episode
