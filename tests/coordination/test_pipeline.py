"""TensorConsensusPipeline: the README call pattern, masks, equivariance, jit, gradients."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.coordination import TensorConsensusPipeline

PIPELINE = TensorConsensusPipeline(complexity_dim=4, embedding_dim=8, consensus_sigma=1.0)


@pytest.fixture
def setup(key):
    agent_key, task_key = jax.random.split(key)
    agent_states = jax.random.normal(agent_key, (2, 6, 5))
    task_states = jax.random.normal(task_key, (2, 3, 5))
    params = PIPELINE.init(jax.random.key(1), agent_states)
    return params, agent_states, task_states


def test_api_shapes_and_nested_metrics(setup):
    params, agent_states, task_states = setup
    output, metrics = jax.jit(PIPELINE.apply)(params, agent_states)
    assert output.shape == (2, 1, 5)
    assert set(metrics) == {"projection", "consensus"}
    output, metrics = jax.jit(PIPELINE.apply)(params, agent_states, task_states)
    assert output.shape == (2, 1, 5)
    assert set(metrics) == {"projection", "assignment", "consensus"}
    assert bool(jnp.all(jnp.isfinite(output)))
    assert 1.0 <= float(metrics["consensus"]["effective_agents"]) <= 6.0


def test_jit_matches_no_jit(setup):
    params, agent_states, task_states = setup
    eager, _ = PIPELINE.apply(params, agent_states, task_states)
    jitted, _ = jax.jit(PIPELINE.apply)(params, agent_states, task_states)
    np.testing.assert_allclose(jitted, eager, rtol=1e-5, atol=1e-5)


def test_masked_agent_changes_nothing(setup):
    params, agent_states, task_states = setup
    mask = jnp.ones((2, 6), bool).at[:, 3].set(False)
    apply = jax.jit(PIPELINE.apply)
    masked, _ = apply(params, agent_states.at[:, 3].set(1e3), task_states, mask)
    removed, _ = apply(params, jnp.delete(agent_states, 3, axis=1), task_states)
    np.testing.assert_allclose(masked, removed, rtol=1e-4, atol=1e-5)


def test_permutation_invariance_over_agents(setup):
    params, agent_states, task_states = setup
    permutation = jnp.array([4, 0, 5, 2, 1, 3])
    apply = jax.jit(PIPELINE.apply)
    output, _ = apply(params, agent_states, task_states)
    permuted, _ = apply(params, agent_states[:, permutation], task_states)
    np.testing.assert_allclose(permuted, output, rtol=1e-4, atol=1e-5)


def test_gradients_flow_end_to_end(setup):
    params, agent_states, task_states = setup

    def loss(params, agent_states):
        output, _ = PIPELINE.apply(params, agent_states, task_states)
        return jnp.sum(output**2)

    param_grads, state_grads = jax.jit(jax.grad(loss, argnums=(0, 1)))(params, agent_states)
    assert bool(jnp.all(jnp.isfinite(state_grads))) and float(jnp.abs(state_grads).max()) > 0
    for name in ("projection", "assignment", "output"):
        leaves = jax.tree.leaves(param_grads["params"].get(name, {}))
        assert leaves and all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves)
        assert max(float(jnp.abs(leaf).max()) for leaf in leaves) > 0
