"""Episode replay: whole chunks of T steps as single items of a flashbax buffer.

    replay = EpisodeReplay(capacity=5000, batch_size=32)
    buffer_state = replay.init(example_chunk)          # one Chunk without the batch axis
    buffer_state = replay.add(buffer_state, chunks)    # Chunk with a leading axis B
    chunks = replay.sample(buffer_state, key)          # Chunk with a leading axis K

A recurrent Q-network must be unrolled over a sequence, so the unit of replay is a chunk that
starts at an episode's reset (its memory starts empty, as pymarl's episode buffer and
JaxMARL's QMIX store them). flashbax's item buffer keeps the newest `capacity` chunks (the
oldest are overwritten first) and samples `batch_size` of them uniformly with replacement; each
sampled chunk is returned exactly as it was stored, steps in order
(`marlax.algorithms.common.replay.ItemReplay`).
"""

from __future__ import annotations

import jax
from flax import struct

from marlax.algorithms.common.replay import ItemReplay


@struct.dataclass
class Chunk:
    """T steps of one env from a reset (shapes without the leading batch axis)."""

    obs: jax.Array  # [T + 1, N, *obs_shape] obs[t] before step t; obs[T] the final observation
    legal: jax.Array  # bool[T + 1, N, A] legal actions at each observation
    state: jax.Array  # f32[T + 1, S] global state at each observation (S = 0 unless QMIX)
    actions: jax.Array  # i32[T, N]
    reward: jax.Array  # f32[T, N]
    done: jax.Array  # bool[T] an episode ended at step t (the next obs starts a new one)
    terminated: jax.Array  # bool[T] it ended by termination (no bootstrap)


class EpisodeReplay(ItemReplay):
    """An `ItemReplay` of `Chunk`s (each starts at a reset; see the module docstring)."""
