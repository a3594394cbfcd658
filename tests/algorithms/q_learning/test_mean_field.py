"""MF-Q: the neighbours' mean previous action, by hand, and the same in acting and learning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.q_learning.mean_field import (
    chunk_previous_actions,
    neighbour_mean_action,
)
from marlax.algorithms.q_learning.policy import QPolicy
from marlax.algorithms.q_learning.rollout import collect_chunks
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.config import load_from_dict
from tests.algorithms.q_learning.helpers import tiny_q


def test_mean_action_of_the_others_by_hand():
    previous = jnp.array([[0, 2, 2]])  # three agents, three actions
    mean = neighbour_mean_action(previous, 3, jnp.array([False]))
    expected = [[[0, 0, 1]], [[0.5, 0, 0.5]], [[0.5, 0, 0.5]]]
    np.testing.assert_allclose(mean[0], np.array(expected)[:, 0])
    np.testing.assert_array_equal(neighbour_mean_action(previous, 3, jnp.array([True])), 0.0)
    np.testing.assert_allclose(mean.sum(-1), 1.0)


def test_chunk_previous_actions_restart_after_a_done():
    actions = jnp.arange(4).reshape(4, 1, 1)  # T = 4, K = 1, N = 1
    done = jnp.array([False, True, False, False]).reshape(4, 1)
    previous, start = chunk_previous_actions(actions, done)
    np.testing.assert_array_equal(previous[:, 0, 0], [0, 0, 1, 2, 3])
    np.testing.assert_array_equal(start[:, 0], [True, False, True, False, False])


def test_acting_and_learning_see_the_same_q_values():
    """The learner's unroll over a stored chunk (mean actions rebuilt from the stored actions)
    gives the Q-values the policy computed step by step while acting."""
    config = load_from_dict(tiny_q("mfq"))
    trainer = QTrainer(config)
    setup = trainer.setup
    params = setup.networks.init(jax.random.key(0))
    chunks, _ = collect_chunks(
        jax.random.key(1),
        setup.env,
        1,
        setup.networks,
        params,
        jnp.float32(0.5),
        setup.chunk_length,
    )
    chunk = jax.tree.map(
        lambda x: x[:, 0] if x.ndim > 1 else x,
        jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), chunks),
    )
    previous, start = chunk_previous_actions(chunk.actions[:, None], chunk.done[:, None])
    mean = neighbour_mean_action(previous, setup.networks.num_actions, start)
    reset = jnp.broadcast_to(start[..., None], previous.shape)
    learned = setup.networks.sequence(params, chunk.obs[:, None], reset, mean)[:, 0]

    policy = QPolicy(params, setup.networks, setup.env)
    memory = policy.initial_memory()
    for t in range(setup.chunk_length):
        q, carry = policy.q_values(chunk.obs[t], memory, jnp.bool_(t == 0))
        np.testing.assert_allclose(q, learned[t], rtol=1e-5, atol=1e-6)
        memory = (carry, chunk.actions[t])
