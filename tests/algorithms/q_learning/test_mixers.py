"""VDN's sum and QMIX's monotonic mixer."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.q_learning.mixers import QMixer, vdn_mix


def test_vdn_q_tot_is_the_sum_of_the_agents_q():
    agent_q = jax.random.normal(jax.random.key(0), (4, 5, 3))
    np.testing.assert_allclose(vdn_mix(agent_q), agent_q.sum(-1), rtol=1e-6)


def test_qmix_q_tot_is_non_decreasing_in_every_agents_q():
    """dQ_tot/dQ_i >= 0 for random parameters, states and Q-values (several inits)."""
    mixer = QMixer(embed_dim=8, hypernet_dim=16)
    for seed in range(5):
        keys = jax.random.split(jax.random.key(seed), 4)
        agent_q = jax.random.normal(keys[0], (64, 4)) * 3.0
        state = jax.random.normal(keys[1], (64, 10)) * 2.0
        params = mixer.init(keys[2], agent_q, state)
        grads = jax.vmap(jax.grad(mixer.apply, argnums=1), in_axes=(None, 0, 0))(
            params, agent_q, state
        )
        assert grads.shape == (64, 4)
        assert float(grads.min()) >= 0.0


def test_qmix_shapes_and_leading_axes():
    mixer = QMixer(embed_dim=8, hypernet_dim=16)
    agent_q = jnp.ones((3, 2, 5))
    state = jnp.ones((3, 2, 7))
    params = mixer.init(jax.random.key(0), agent_q, state)
    out = mixer.apply(params, agent_q, state)
    assert out.shape == (3, 2)
    flat = mixer.apply(params, agent_q.reshape(6, 5), state.reshape(6, 7))
    np.testing.assert_allclose(out.reshape(6), flat, rtol=1e-6)
