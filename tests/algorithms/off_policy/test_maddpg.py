"""MADDPG: the joint action each agent's critic values, and a gradient step that moves the
critic by its TD loss alone and the actor by its own loss alone."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from marlax.algorithms.off_policy import maddpg
from marlax.algorithms.off_policy.learn import maddpg_step
from tests.algorithms.off_policy.helpers import learner_state, random_batch, tiny_setup


def test_own_action_swapped_by_hand():
    """Row i holds agent i's actor action in slot i and the batch's actions elsewhere."""
    own = jnp.array([[[1.0], [2.0], [3.0]]])  # f32[K=1, N=3, A=1]
    stored = jnp.array([[[-1.0], [-2.0], [-3.0]]])
    joint = maddpg.own_action_swapped(own, stored)[0, :, :, 0]
    np.testing.assert_array_equal(joint, [[1, -2, -3], [-1, 2, -3], [-1, -2, 3]])
    same = maddpg.same_joint_action(stored)[0, :, :, 0]
    np.testing.assert_array_equal(same, [[-1, -2, -3]] * 3)


def test_actor_loss_equals_a_loop_over_agents_with_the_own_action_replaced():
    """-mean over k, i of Q_i(x_k, a_k with a_k[i] = mu(o_k[i])), built agent by agent."""
    setup = tiny_setup("maddpg")
    networks = setup.networks
    params = networks.init(jax.random.key(0))
    batch = random_batch(jax.random.key(1), setup, size=2)
    mu = networks.greedy_actions(params["actor"], batch.obs)
    centralised_q = jax.jit(networks.centralised_q)
    values = []
    for k in range(2):
        for i in range(networks.num_agents):
            joint = batch.actions[k].at[i].set(mu[k, i])  # f32[N, A]
            rows = jnp.broadcast_to(joint, (networks.num_agents, *joint.shape))
            values.append(centralised_q(params["critic"], batch.obs[k], rows)[i])
    loss = maddpg.actor_loss(params["actor"], params["critic"], batch, jax.random.key(9), networks)
    np.testing.assert_allclose(loss, -np.mean(values), rtol=1e-5)


def _reference_step(state, batch, key, setup):
    """(critic, actor) after a critic step on the TD loss alone, then an actor step with the
    gradient taken with respect to the actor only, against the updated critic."""
    networks, gamma = setup.networks, setup.off_policy.gamma
    critic_key, actor_key = jax.random.split(key)
    target = state.target_params
    critic_grads = jax.grad(
        lambda critic: maddpg.critic_loss(critic, target, batch, critic_key, networks, gamma).loss
    )(state.params["critic"])
    updates, _ = setup.critic_optimizer.update(
        critic_grads, state.critic_opt_state, state.params["critic"]
    )
    critic = optax.apply_updates(state.params["critic"], updates)
    actor_grads = jax.grad(maddpg.actor_loss)(
        state.params["actor"], critic, batch, actor_key, networks, setup.off_policy.logit_penalty
    )
    updates, _ = setup.actor_optimizer.update(
        actor_grads, state.actor_opt_state, state.params["actor"]
    )
    return critic, optax.apply_updates(state.params["actor"], updates)


@pytest.mark.parametrize("discrete", [False, True])
def test_a_maddpg_step_moves_the_critic_by_its_loss_and_the_actor_by_its_own(discrete):
    """Equal to `_reference_step`; the targets are not touched (they move in `gradient_step`).
    Discrete: the same, with the Gumbel noise of both losses drawn from the step's key."""
    setup = tiny_setup("maddpg", discrete=discrete)
    state = learner_state(jax.random.key(2), setup)
    batch = random_batch(jax.random.key(3), setup, size=8)
    key = jax.random.key(4)
    after, metrics = jax.jit(partial(maddpg_step, setup=setup))(state, batch, key)
    critic, actor = jax.jit(partial(_reference_step, setup=setup))(state, batch, key)

    for got, expected in zip(
        jax.tree.leaves(after.params),
        jax.tree.leaves({"actor": actor, "critic": critic}),
        strict=True,
    ):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    for got, before in zip(
        jax.tree.leaves(after.target_params), jax.tree.leaves(state.target_params), strict=True
    ):
        np.testing.assert_array_equal(got, before)
    moved = [
        np.abs(np.asarray(a - b)).max()
        for a, b in zip(
            jax.tree.leaves(after.params["actor"]),
            jax.tree.leaves(state.params["actor"]),
            strict=True,
        )
    ]
    assert max(moved) > 0.0
    assert np.isfinite(float(metrics["loss/critic"]))
