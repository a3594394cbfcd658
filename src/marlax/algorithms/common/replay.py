"""Uniform replay of whole items (a transition, an episode chunk) on a flashbax item buffer.

    replay = ItemReplay(capacity=5000, batch_size=32)
    buffer_state = replay.init(example_item)           # one item, no batch axis
    buffer_state = replay.add(buffer_state, items)     # items with a leading axis B
    batch = replay.sample(buffer_state, key)           # items with a leading axis K

flashbax's item buffer keeps the newest `capacity` items (the oldest are overwritten first)
and samples `batch_size` of them uniformly with replacement; each sampled item is returned
exactly as it was stored. flashbax relies on NumPy rank promotion, so every call into it runs
under `jax.numpy_rank_promotion("allow")`. The buffer state is a pytree: it lives in a
learner's train state, under jit and vmap, and in its checkpoints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flashbax as fbx
import jax


@dataclass(frozen=True)
class ItemReplay:
    """A flashbax item buffer (see the module docstring)."""

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

    def init(self, example: Any) -> Any:
        """An empty buffer for items shaped like `example` (no batch axis)."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.init(example)

    def add(self, buffer_state: Any, items: Any) -> Any:
        """Store a batch of items (leading axis B), overwriting the oldest when full."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.add(buffer_state, items)

    def sample(self, buffer_state: Any, key: jax.Array) -> Any:
        """`batch_size` stored items drawn uniformly with replacement (leading axis K)."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.sample(buffer_state, key).experience

    def can_sample(self, buffer_state: Any) -> jax.Array:
        """bool[]: at least `batch_size` items are stored."""
        with jax.numpy_rank_promotion("allow"):
            return self._buffer.can_sample(buffer_state)
