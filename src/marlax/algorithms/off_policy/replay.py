"""Transition replay: single env steps (all agents together) as items of a flashbax buffer.

    replay = TransitionReplay(capacity=100_000, batch_size=256)
    buffer_state = replay.init(example)                 # one Transition without a batch axis
    buffer_state = replay.add(buffer_state, batch)      # Transition with a leading axis M
    batch = replay.sample(buffer_state, key)            # Transition with a leading axis K

The actors and critics are feed-forward, so the unit of replay is one step of one env:
every agent's observation, action and reward, the observation the step led to and whether
the episode terminated there, and the legal actions at both observations (discrete MADDPG
masks its actor's logits with them; all True for continuous actions). At a time limit (or
any done) `next_obs` is the true final observation (`info["final_obs"]`), not the next
episode's first one, so a truncated episode bootstraps from where it really ended. flashbax
keeps the newest `capacity` items and samples `batch_size` uniformly with replacement; it
relies on NumPy rank promotion, so every call into it runs under
`jax.numpy_rank_promotion("allow")`.
"""

from __future__ import annotations

import jax
from flax import struct

from marlax.algorithms.common.replay import ItemReplay


@struct.dataclass
class Transition:
    """One step of one env (shapes without a batch axis)."""

    obs: jax.Array  # f32[N, D] before the step
    actions: jax.Array  # f32[N, A] in [-1, 1] (the learner's action box), or one-hot
    reward: jax.Array  # f32[N] each agent's own reward
    next_obs: jax.Array  # f32[N, D] after the step (the true final one at a done)
    terminated: jax.Array  # bool[] the episode ended by termination (no bootstrap)
    legal: jax.Array  # bool[N, A] legal actions at `obs` (all True for Box actions)
    next_legal: jax.Array  # bool[N, A] legal actions at `next_obs`


class TransitionReplay(ItemReplay):
    """An `ItemReplay` of `Transition`s (see the module docstring)."""
