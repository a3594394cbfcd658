"""Episode replay: sampled chunks are stored chunks, whole and in order; oldest overwritten."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.q_learning.replay import Chunk, EpisodeReplay

T, N, A = 5, 2, 3


def _chunks(first_id: int, count: int) -> Chunk:
    """`count` chunks whose every entry encodes (chunk id, step): obs[c, t] = 100 c + t."""
    ids = jnp.arange(first_id, first_id + count, dtype=jnp.float32)[:, None]
    steps = jnp.arange(T + 1, dtype=jnp.float32)[None]
    code = 100.0 * ids + steps  # [count, T + 1]
    return Chunk(
        obs=jnp.broadcast_to(code[:, :, None, None], (count, T + 1, N, 4)),
        legal=jnp.ones((count, T + 1, N, A), bool),
        state=code[:, :, None],
        actions=jnp.broadcast_to(code[:, :T, None].astype(jnp.int32), (count, T, N)),
        reward=jnp.broadcast_to(code[:, :T, None], (count, T, N)),
        done=jnp.zeros((count, T), bool).at[:, -1].set(True),
        terminated=jnp.zeros((count, T), bool),
    )


def _ids(chunks: Chunk) -> np.ndarray:
    return np.asarray(chunks.obs[:, 0, 0, 0] // 100).astype(int)


def test_sampled_chunks_are_stored_chunks_whole_and_in_order():
    replay = EpisodeReplay(capacity=16, batch_size=8)
    state = replay.init(jax.tree.map(lambda x: x[0], _chunks(0, 1)))
    state = replay.add(state, _chunks(0, 4))
    state = replay.add(state, _chunks(4, 4))
    sample = jax.jit(replay.sample)(state, jax.random.key(0))
    ids = _ids(sample)
    assert set(ids) <= set(range(8))
    expected = jax.tree.map(lambda x: x[ids], _chunks(0, 8))
    for got, want in zip(jax.tree.leaves(sample), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_oldest_chunks_are_overwritten_first():
    replay = EpisodeReplay(capacity=6, batch_size=4)
    state = replay.init(jax.tree.map(lambda x: x[0], _chunks(0, 1)))
    for first in (0, 3, 6):  # 9 chunks into 6 slots: chunks 0, 1, 2 are gone
        state = replay.add(state, _chunks(first, 3))
    seen = set()
    for key in jax.random.split(jax.random.key(1), 30):
        seen |= set(_ids(replay.sample(state, key)))
    assert seen == {3, 4, 5, 6, 7, 8}


def test_sampling_waits_for_a_whole_batch():
    replay = EpisodeReplay(capacity=10, batch_size=4)
    state = replay.init(jax.tree.map(lambda x: x[0], _chunks(0, 1)))
    state = replay.add(state, _chunks(0, 3))
    assert not bool(replay.can_sample(state))
    state = replay.add(state, _chunks(3, 1))
    assert bool(replay.can_sample(state))
