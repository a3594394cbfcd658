"""The Q-learning trainer: losses per algorithm, determinism, chunks, learning starts."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.q_learning.rollout import collect_chunks
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.algorithms.q_learning.update import chunk_loss
from marlax.config import load_from_dict
from tests.algorithms.q_learning.helpers import tiny_q


def _trainer(algorithm: str = "qmix", **sections) -> QTrainer:
    return QTrainer(load_from_dict(tiny_q(algorithm, **sections)))


def _chunks(trainer: QTrainer, epsilon=1.0):
    key = jax.random.key(0)
    setup = trainer.setup
    params = setup.networks.init(jax.random.key(1))
    chunks, stats = collect_chunks(
        key, setup.env, 3, setup.networks, params, jnp.float32(epsilon), setup.chunk_length
    )
    return params, chunks, stats


def test_chunks_start_at_a_reset_and_end_with_the_final_observation():
    trainer = _trainer()
    _, chunks, stats = _chunks(trainer)
    env, t = trainer.setup.env, trainer.setup.chunk_length
    assert chunks.obs.shape == (3, t + 1, env.num_agents, *env.observation_space.shape)
    assert chunks.actions.shape == (3, t, env.num_agents)
    # max_steps = T: every env's only episode is truncated at the chunk's last step
    np.testing.assert_array_equal(chunks.done, np.eye(t, dtype=bool)[-1][None].repeat(3, 0))
    assert not chunks.terminated.any()
    assert stats.finished.sum() == 3
    # a reset observation of the same key is the chunk's first observation
    obs0, _ = jax.vmap(env.reset)(jax.random.split(jax.random.split(jax.random.key(0), 3)[0], 3))
    np.testing.assert_allclose(chunks.obs[:, 0], obs0)


def test_vdn_loss_equals_the_loss_of_summed_agent_values_by_hand():
    trainer = _trainer("vdn")
    params, chunks, _ = _chunks(trainer)
    setup = trainer.setup
    loss = chunk_loss(params, params, chunks, setup).loss
    # by hand: unroll, take Q of the taken actions, sum over agents, double-Q target
    obs = jnp.swapaxes(chunks.obs, 0, 1)
    t = setup.chunk_length
    reset = jnp.zeros((t + 1, 3, setup.env.num_agents), bool).at[0].set(True)
    q = setup.networks.sequence(params, obs, reset)
    actions = jnp.swapaxes(chunks.actions, 0, 1)
    taken = jnp.take_along_axis(q[:-1], actions[..., None], -1)[..., 0].sum(-1)
    best = jnp.argmax(jnp.where(jnp.swapaxes(chunks.legal, 0, 1)[1:], q[1:], -jnp.inf), -1)
    bootstrap = jnp.take_along_axis(q[1:], best[..., None], -1)[..., 0].sum(-1)
    reward = jnp.swapaxes(chunks.reward, 0, 1).mean(-1)
    target = reward + setup.q_learning.gamma * bootstrap  # nothing terminates in simple_spread
    np.testing.assert_allclose(loss, jnp.mean((taken - target) ** 2), rtol=1e-5)


@pytest.mark.parametrize("algorithm", ["iql", "vdn", "qmix", "mfq"])
def test_loss_jit_equals_no_jit_and_has_finite_gradients(algorithm):
    trainer = _trainer(algorithm)
    params, chunks, _ = _chunks(trainer)

    def _loss(p):
        return chunk_loss(p, params, chunks, trainer.setup).loss

    eager = _loss(params)
    np.testing.assert_allclose(jax.jit(_loss)(params), eager, rtol=1e-5)
    grads = jax.grad(_loss)(params)
    assert all(bool(jnp.isfinite(g).all()) for g in jax.tree.leaves(grads))
    if algorithm == "qmix":
        assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(grads["mixer"]))


def test_same_key_same_run_and_learning_waits_for_learning_starts():
    trainer = QTrainer(load_from_dict(tiny_q("vdn", run={"num_seeds": 2})))
    state_a, metrics_a = trainer.update(trainer.init(jax.random.key(3)), 4)
    state_b, _ = trainer.update(trainer.init(jax.random.key(3)), 4)
    for a, b in zip(jax.tree.leaves(state_a.params), jax.tree.leaves(state_b.params), strict=True):
        np.testing.assert_array_equal(a, b)
    loss = np.asarray(metrics_a["loss/td"])
    assert loss.shape == (2, 4)
    # 32 env steps per update, learning_starts 64: updates 1-2 only collect
    assert np.isnan(loss[:, :1]).all() and np.isfinite(loss[:, 2:]).all()
    # the seeds differ
    leaf = jax.tree.leaves(state_a.params)[0]
    assert not np.array_equal(leaf[0], leaf[1])


@pytest.mark.slow  # ~26 s of compiling (CI time)
def test_the_target_network_follows_on_its_interval():
    trainer = _trainer("iql", q_learning={"target_update_interval": 3, "learning_starts": 0})
    state = trainer.init(jax.random.key(0))
    before = jax.tree.leaves(state.target_params)[0].copy()
    state, _ = trainer.update(state, 2)
    np.testing.assert_array_equal(jax.tree.leaves(state.target_params)[0], before)
    state, _ = trainer.update(state, 1)
    np.testing.assert_array_equal(
        jax.tree.leaves(state.target_params)[0], jax.tree.leaves(state.params)[0]
    )


@pytest.mark.slow  # ~27 s on 2 busy cores (one init program per seed)
def test_init_seed_by_seed_equals_the_vmapped_init():
    trainer = QTrainer(load_from_dict(tiny_q("qmix", run={"num_seeds": 2})))
    key = jax.random.key(7)
    stacked = trainer.init(key)
    vmapped = jax.vmap(trainer.init_one)(jax.random.split(key, 2))
    for a, b in zip(jax.tree.leaves(stacked), jax.tree.leaves(vmapped), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b)
