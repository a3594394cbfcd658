"""Episode replay: whole chunks of T steps as single items of a flashbax buffer.

    replay = EpisodeReplay(capacity=5000, batch_size=32)
    buffer_state = replay.init(example_chunk)          # one Chunk without the batch axis
    buffer_state = replay.add(buffer_state, chunks)    # Chunk with a leading axis B
    chunks = replay.sample(buffer_state, key)          # Chunk with a leading axis K

A recurrent Q-network must be unrolled over a sequence, so the unit of replay is a chunk that
starts at an episode's reset (its memory starts empty, as pymarl's episode buffer and
JaxMARL's QMIX store them). flashbax's item buffer keeps the newest `capacity` chunks (the
oldest are overwritten first) and samples `batch_size` of them uniformly with replacement; each
sampled chunk is returned exactly as it was stored, steps in order. flashbax relies on NumPy
rank promotion, so every call into it runs under `jax.numpy_rank_promotion("allow")`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flashbax as fbx
import jax
from flax import struct


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


@dataclass(frozen=True)
class EpisodeReplay:
    """A flashbax item buffer of `Chunk`s (see the module docstring)."""

    capacity: int
    batch_size: int

    @property
    def _buffer(self) -> Any:
        return fbx.make_item_buffer(
            max_length=self.capacity,
            min_length=self.batch_size,
            sample_batch_size=self.batch_size,
            add_sequences=False,
            add_batches=True,
        )

    def init(self, example: Chunk) -> Any:
        """An empty buffer for chunks shaped like `example` (no batch axis)."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.init(example)

    def add(self, buffer_state: Any, chunks: Chunk) -> Any:
        """Store a batch of chunks (leading axis B), overwriting the oldest when full."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.add(buffer_state, chunks)

    def sample(self, buffer_state: Any, key: jax.Array) -> Chunk:
        """`batch_size` stored chunks drawn uniformly with replacement (leading axis K)."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.sample(buffer_state, key).experience

    def can_sample(self, buffer_state: Any) -> jax.Array:
        """bool[]: at least `batch_size` chunks are stored."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.can_sample(buffer_state)
