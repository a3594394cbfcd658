"""Policy-side layers: ConsensusMessage and AssignmentHead."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.coordination import AssignmentHead, ConsensusMessage
from marlax.errors import ConfigError


def test_consensus_message_is_shared_and_ignores_masked_agents(key):
    features = jax.random.normal(key, (5, 6))
    layer = ConsensusMessage(features=4)
    params = jax.jit(layer.init)(jax.random.key(1), features)
    apply = jax.jit(layer.apply)  # op by op these four calls took ~18 s in CI
    message = apply(params, features)
    assert message.shape == (5, 4)
    np.testing.assert_allclose(message, jnp.broadcast_to(message[0], (5, 4)), atol=1e-6)
    mask = jnp.array([True, True, False, True, True])
    masked = apply(params, features.at[2].set(50.0), mask)
    removed = apply(params, jnp.delete(features, 2, axis=0))
    np.testing.assert_allclose(masked[0], removed[0], atol=1e-5)
    batched = apply(params, jnp.stack([features, features]))
    np.testing.assert_allclose(batched[1], message, atol=1e-5)


def test_assignment_head_one_landmark_each(key):
    agent_key, landmark_key = jax.random.split(key)
    agents = jax.random.normal(agent_key, (3, 4))
    landmarks = jax.random.normal(landmark_key, (3, 2))
    head = AssignmentHead(embedding_dim=8, num_iterations=200)
    params = jax.jit(head.init)(jax.random.key(1), agents, landmarks)
    plan, log_probs = jax.jit(head.apply)(params, agents, landmarks)
    assert plan.shape == (3, 3)
    np.testing.assert_allclose(plan.sum(0), 1.0, atol=1e-2)  # temperature 0.1: slow columns
    np.testing.assert_allclose(plan.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(jnp.exp(log_probs), plan, atol=1e-6)


@pytest.mark.parametrize(
    "settings", [{"embedding_dim": 0}, {"temperature": -0.1}, {"num_iterations": 0}]
)
def test_assignment_head_rejects_bad_settings(settings):
    with pytest.raises(ConfigError):
        AssignmentHead(**settings)
