"""The transition replay returns what was stored, and forgets the oldest first."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.off_policy.replay import Transition, TransitionReplay


def _transitions(first: int, count: int) -> Transition:
    """`count` transitions whose every entry encodes its index (first, first + 1, ...)."""
    index = jnp.arange(first, first + count, dtype=jnp.float32)
    return Transition(
        obs=jnp.broadcast_to(index[:, None, None], (count, 2, 3)),
        actions=jnp.broadcast_to(-index[:, None, None], (count, 2, 1)),
        reward=jnp.broadcast_to(10.0 * index[:, None], (count, 2)),
        next_obs=jnp.broadcast_to(index[:, None, None] + 0.5, (count, 2, 3)),
        terminated=(index % 2 == 0),
        legal=jnp.broadcast_to((index % 3 == 0)[:, None, None], (count, 2, 1)),
        next_legal=jnp.broadcast_to((index % 3 != 0)[:, None, None], (count, 2, 1)),
    )


def test_samples_are_stored_transitions_and_the_oldest_go_first():
    replay = TransitionReplay(capacity=4, batch_size=4)
    example = jax.tree.map(lambda leaf: leaf[0], _transitions(0, 1))
    buffer = replay.init(example)
    buffer = replay.add(buffer, _transitions(0, 3))
    assert not bool(replay.can_sample(buffer))  # 3 stored < batch_size 4
    buffer = replay.add(buffer, _transitions(3, 3))  # 6 added into 4 slots: 0 and 1 are gone
    assert bool(replay.can_sample(buffer))
    keys = jax.random.split(jax.random.key(0), 4)
    batch = jax.tree.map(
        lambda *leaves: jnp.concatenate(leaves), *[replay.sample(buffer, k) for k in keys]
    )
    index = np.asarray(batch.obs[:, 0, 0])
    assert set(index.tolist()) <= {2.0, 3.0, 4.0, 5.0}
    assert len(set(index.tolist())) > 1
    # every field of a sampled item belongs to the same stored transition
    np.testing.assert_array_equal(batch.obs, np.broadcast_to(index[:, None, None], (16, 2, 3)))
    np.testing.assert_array_equal(batch.actions[:, :, 0], -np.stack([index, index], 1))
    np.testing.assert_array_equal(batch.reward, 10.0 * np.stack([index, index], 1))
    np.testing.assert_array_equal(batch.next_obs[:, 0, 0], index + 0.5)
    np.testing.assert_array_equal(batch.terminated, index % 2 == 0)
    np.testing.assert_array_equal(batch.legal[:, 0, 0], index % 3 == 0)
    np.testing.assert_array_equal(batch.next_legal[:, 1, 0], index % 3 != 0)
