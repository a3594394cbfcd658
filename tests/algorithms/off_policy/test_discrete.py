"""MADDPG on discrete actions (Gumbel-softmax): a short run on a simple_spread whose action
masks change every step, the critic's one-hot joint actions, the actor loss, and the trained
policy's legal argmax play."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.off_policy import gumbel, maddpg
from marlax.algorithms.off_policy.policy import ActorPolicy
from marlax.algorithms.off_policy.trainer import OffPolicyTrainer, make_setup
from marlax.config.schema import OptimizerConfig
from marlax.envs.simple_spread.env import SimpleSpread
from tests.algorithms.off_policy.helpers import random_batch, tiny_off_policy, tiny_setup

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("algorithms.off_policy.test_discrete")

UPDATES = 3  # 16 env steps per update, learning_starts 32: the third update learns


@dataclass(frozen=True)
class MaskedSpread(SimpleSpread):
    """simple_spread where agent i may not play action (step + i) % 5, nor agent 0 the no-op."""

    def action_mask(self, state) -> jax.Array:
        forbidden = (state.step + jnp.arange(self.num_agents)) % 5
        legal = jnp.arange(5)[None, :] != forbidden[:, None]
        return legal.at[0, 0].set(False)


def _leaves(tree) -> list:
    return [
        jax.random.key_data(leaf) if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key) else leaf
        for leaf in jax.tree.leaves(tree)
    ]


@pytest.fixture(scope="module")
def short_run():
    """(setup, state, metrics, state again) of two 3-update runs from one key."""
    setup = make_setup(
        "maddpg",
        MaskedSpread(max_steps=6),
        num_envs=4,
        off_policy=tiny_off_policy(gumbel_estimator="straight_through"),
        optimizer=OptimizerConfig(),
    )
    trainer = OffPolicyTrainer(setup)
    state, metrics = trainer.update(trainer.init(jax.random.key(0)), UPDATES)
    again, _ = trainer.update(trainer.init(jax.random.key(0)), UPDATES)
    return setup, state, metrics, again


def test_a_short_discrete_run_is_finite_deterministic_and_plays_legal_one_hot_actions(short_run):
    setup, state, metrics, again = short_run
    for a, b in zip(_leaves(state), _leaves(again), strict=True):
        np.testing.assert_array_equal(a, b)
    assert setup.networks.discrete and "noise_std" not in metrics
    critic_loss = np.asarray(metrics["loss/critic"])[0]
    assert np.isnan(critic_loss[:2]).all() and np.isfinite(critic_loss[2])
    assert np.isfinite(np.asarray(metrics["loss/actor"])[0, 2])
    assert all(np.isfinite(leaf).all() for leaf in jax.tree.leaves(state.params))
    stored = state.buffer.experience
    actions = np.asarray(stored.actions).reshape(-1, 3, 5)[: UPDATES * 16]
    legal = np.asarray(stored.legal).reshape(-1, 3, 5)[: UPDATES * 16]
    assert set(np.unique(actions).tolist()) == {0.0, 1.0}
    np.testing.assert_array_equal(actions.sum(-1), 1.0)
    assert np.take_along_axis(legal, actions.argmax(-1)[..., None], -1).all()
    assert (~legal).sum(-1).min() >= 1  # the masks bit: one action at least was illegal
    next_legal = np.asarray(stored.next_legal).reshape(-1, 3, 5)[: UPDATES * 16]
    assert not np.array_equal(legal, next_legal)  # the mask at next_obs is its own


def test_the_trained_policy_plays_the_legal_argmax(short_run):
    """Greedy play is argmax of the logits with illegal actions at -inf (i32[N]), equal to the
    argmax of the action scores; sampled play is legal and varies with the key."""
    setup, state, _, _ = short_run
    env, networks = setup.env, setup.networks
    actor = jax.tree.map(lambda leaf: leaf[0], state.params["actor"])
    policy = ActorPolicy(actor, networks, env=env)
    sampling = ActorPolicy(actor, networks, sample=True, env=env)

    @jax.jit
    def _play(key, obs, env_state):
        """(greedy actions, scores, logits, legal, 64 sampled actions, next obs and state)."""
        actions, _ = policy.act(key, obs, env_state, (), False)
        scores, _ = policy.action_scores(obs, env_state, (), False)
        keys = jax.random.split(key, 64)
        drawn = jax.vmap(lambda k: sampling.act(k, obs, env_state, (), False)[0])(keys)
        logits = networks.actor_output(actor, obs)
        obs, env_state, *_ = env.step(key, env_state, actions)
        return actions, scores, logits, env.action_mask(env_state), drawn, obs, env_state

    obs, env_state = env.reset(jax.random.key(1))
    legal = np.asarray(env.action_mask(env_state))
    for step in range(3):
        actions, scores, logits, next_legal, drawn, obs, env_state = _play(
            jax.random.key(step), obs, env_state
        )
        assert actions.dtype == jnp.int32 and env.action_space.contains(np.asarray(actions))
        np.testing.assert_array_equal(actions, np.where(legal, logits, -np.inf).argmax(-1))
        np.testing.assert_array_equal(np.asarray(scores).argmax(-1), actions)
        assert np.all(np.asarray(scores)[~legal] == -1e9)
        drawn = np.asarray(drawn)  # i32[64, N]
        assert np.take_along_axis(np.broadcast_to(legal, (64, 3, 5)), drawn[..., None], -1).all()
        assert len(np.unique(drawn, axis=0)) > 1
        legal = np.asarray(next_legal)


def test_the_critic_reads_one_hot_joint_actions():
    """Q_i in the critic loss is the critic MLP on [every obs, the stored one-hot joint
    action, id_i]; the straight-through TD target of agent i's critic is r_i + gamma Q'_i at
    its own Gumbel-max draw of the target actors' one-hot joint action (the i-th of N keys
    split from the target's key, as openai/maddpg samples afresh in each agent's update)."""
    setup = tiny_setup("maddpg", discrete=True, gumbel_estimator="straight_through")
    networks = setup.networks
    params = networks.init(jax.random.key(5))
    batch = random_batch(jax.random.key(6), setup, size=3)
    assert set(np.unique(np.asarray(batch.actions)).tolist()) == {0.0, 1.0}
    key = jax.random.key(7)

    @jax.jit
    def _values(params, batch, key):
        q = networks.centralised_q(
            params["critic"], batch.obs, maddpg.same_joint_action(batch.actions)
        )
        target = maddpg.td_targets(params, batch, key, networks, 0.9)
        logits = networks.actor_output(params["actor"], batch.next_obs)
        next_q = []
        for critic, critic_key in enumerate(jax.random.split(key, 3)):
            joint = gumbel.gumbel_max(critic_key, logits, batch.next_legal)  # f32[K, N, A]
            values = networks.centralised_q(
                params["critic"], batch.next_obs, maddpg.same_joint_action(joint)
            )
            next_q.append(values[:, critic])
        return q, target, jnp.stack(next_q, axis=1)

    q, target, next_q = _values(params, batch, key)
    obs, actions = np.asarray(batch.obs), np.asarray(batch.actions)
    by_hand = np.concatenate(
        [
            np.broadcast_to(obs.reshape(3, 1, -1), (3, 3, obs[0].size)),
            np.broadcast_to(actions.reshape(3, 1, -1), (3, 3, actions[0].size)),
            np.broadcast_to(np.eye(3), (3, 3, 3)),
        ],
        axis=-1,
    )
    expected_q = networks.critic.apply(params["critic"], jnp.asarray(by_hand))[..., 0]
    np.testing.assert_allclose(q, expected_q, rtol=1e-5, atol=1e-6)
    keep = np.where(np.asarray(batch.terminated), 0.0, 0.9)[:, None]
    np.testing.assert_allclose(target, batch.reward + keep * next_q, rtol=1e-5, atol=1e-6)


def test_each_critic_draws_its_own_target_joint_action():
    """Discrete target joint actions: one legal one-hot draw per critic row (rows differ
    somewhere in a batch of 256 on near-uniform logits; about 40% of actions illegal, never
    drawn); continuous: the same row for all."""
    setup = tiny_setup("maddpg", discrete=True, gumbel_estimator="straight_through")
    networks = setup.networks
    params = networks.init(jax.random.key(5))
    batch = random_batch(jax.random.key(6), setup, size=256)
    some_illegal = jax.random.bernoulli(jax.random.key(9), 0.6, batch.next_legal.shape)
    first = jnp.broadcast_to(jnp.arange(5) == 0, some_illegal.shape)
    batch = batch.replace(next_legal=some_illegal | first)  # >= 1 legal action per row
    joint = jax.jit(maddpg.target_joint_actions, static_argnums=3)(
        jax.random.key(8), params["actor"], batch, networks
    )
    joint = np.asarray(joint)  # f32[K, N critics, N agents, A]
    assert joint.shape == (256, 3, 3, 5)
    # straight through: one-hot up to the float rounding of hard + soft - soft
    np.testing.assert_allclose(joint.max(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(joint.sum(-1), 1.0, atol=1e-6)
    legal = np.broadcast_to(np.asarray(batch.next_legal)[:, None], joint.shape)
    assert not joint[~legal].any()
    chosen = joint.argmax(-1)  # i32[K, N critics, N agents]
    assert (chosen[:, 0] != chosen[:, 1]).any() and (chosen[:, 1] != chosen[:, 2]).any()

    continuous = tiny_setup("maddpg")
    params = continuous.networks.init(jax.random.key(5))
    batch = random_batch(jax.random.key(6), continuous, size=4)
    joint = np.asarray(
        maddpg.target_joint_actions(jax.random.key(8), params["actor"], batch, continuous.networks)
    )
    np.testing.assert_array_equal(joint, np.broadcast_to(joint[:, :1], joint.shape))


@pytest.mark.parametrize("estimator", ["soft", "straight_through"])
def test_the_actor_loss_masks_penalises_and_passes_gradients(estimator):
    """The own action in the loss is 0 on illegal actions (and one-hot legal when straight
    through); the logit penalty adds weight * mean(l^2); the gradient is finite and non-zero."""
    setup = tiny_setup("maddpg", discrete=True, gumbel_estimator=estimator)
    networks = setup.networks
    params = networks.init(jax.random.key(8))
    batch = random_batch(jax.random.key(9), setup, size=4)
    legal = jnp.broadcast_to(jnp.array([False, True, True, False, True]), batch.legal.shape)
    batch = batch.replace(legal=legal)
    key = jax.random.key(10)

    @jax.jit
    def _parts(params, batch, key):
        own, logits = networks.loss_actions(key, params["actor"], batch.obs, batch.legal)
        plain = maddpg.actor_loss(params["actor"], params["critic"], batch, key, networks, 0.0)
        penalised = maddpg.actor_loss(params["actor"], params["critic"], batch, key, networks, 0.5)
        grads = jax.grad(maddpg.actor_loss)(
            params["actor"], params["critic"], batch, key, networks, 0.5
        )
        return own, logits, plain, penalised, grads

    own, logits, plain, penalised, grads = _parts(params, batch, key)
    own = np.asarray(own)
    assert np.all(own[~np.asarray(legal)] == 0.0)
    np.testing.assert_allclose(own.sum(-1), 1.0, rtol=1e-5)
    if estimator == "straight_through":  # one-hot up to float rounding of hard + soft - soft
        np.testing.assert_allclose(own, np.round(own), atol=1e-6)
    expected = 0.5 * float(jnp.mean(jnp.square(logits)))
    np.testing.assert_allclose(float(penalised - plain), expected, rtol=1e-4)
    norms = [float(jnp.abs(leaf).max()) for leaf in jax.tree.leaves(grads)]
    assert all(np.isfinite(norms)) and max(norms) > 0.0
