"""MADDPG's losses (Lowe et al. 2017, Algorithm 1), pure functions of a sampled batch.

For agent i with deterministic actors mu_j and a centralised critic Q_i(x, a_1..a_N), where x
is every agent's observation:

    y_i          = r_i + gamma * (1 - terminated) * Q'_i(x', mu'_1(o'_1), ..., mu'_N(o'_N))
    critic loss  = mean over batch and agents of (Q_i(x, a_1..a_N) - y_i)^2
    actor loss   = -mean over batch and agents of Q_i(x, a_1..mu_i(o_i)..a_N)

The primed networks are the Polyak-averaged targets; in the actor loss only agent i's own
action comes from its actor, the others' are the batch's (the paper's eq. (6)). The actor is
shared by all agents (parameter sharing with an agent id), and so is the critic.

Discrete actions (a `Discrete(A)` env; the paper's MPE experiments, openai/maddpg): the actor
outputs logits l(o_i) over A, illegal actions masked to -inf; the replay holds the one-hot
actions that were played; mu'(o'_j) in the target and mu_i(o_i) in the actor loss become
Gumbel-softmax samples of the (target) actor's logits, `soft` or `straight_through`
(`gumbel.relaxed_action`), so the gradient flows through the sampled action; and the actor
loss adds `logit_penalty * mean(l^2)`. openai/maddpg (maddpg/trainer/maddpg.py) uses the
relaxed sample for both (lines 49 and 70) and the penalty with weight 1e-3 (lines 46, 56).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from marlax.algorithms.off_policy import gumbel
from marlax.algorithms.off_policy.networks import ActorCriticNetworks, Params
from marlax.algorithms.off_policy.replay import Transition
from marlax.algorithms.off_policy.targets import td_target


class CriticParts(NamedTuple):
    """A critic loss and what it is made of, for logging."""

    loss: jax.Array  # f32[] mean squared TD error
    q: jax.Array  # f32[] mean Q of the batch's actions
    target: jax.Array  # f32[] mean TD target


def same_joint_action(actions: jax.Array) -> jax.Array:
    """f32[K, N, A] -> f32[K, N, N, A]: every agent's critic values the batch's joint action."""
    num_agents = actions.shape[1]
    return jnp.broadcast_to(actions[:, None], (actions.shape[0], num_agents, *actions.shape[1:]))


def own_action_swapped(own: jax.Array, batch_actions: jax.Array) -> jax.Array:
    """f32[K, N, N, A]: row i is the batch's joint action with agent i's replaced by own[:, i].

    Args:
        own: f32[K, N, A] each agent's action from its actor.
        batch_actions: f32[K, N, A] the actions stored in the replay.
    """
    num_agents = own.shape[1]
    is_own = jnp.eye(num_agents, dtype=bool)[None, :, :, None]
    return jnp.where(is_own, own[:, None], batch_actions[:, None])


def target_joint_actions(
    key: jax.Array, target_actor: Any, batch: Transition, networks: ActorCriticNetworks
) -> jax.Array:
    """f32[K, N, N, A]: row i is the joint next action mu'(o'_1..o'_N) agent i's critic values.

    Continuous: the deterministic target actions, the same in every row. Discrete: each
    critic gets its own Gumbel-softmax draw of every agent's target action (row i with the
    i-th of N keys split from `key`), as openai/maddpg, where each agent's update samples
    `target_act_next_n` afresh (maddpg/trainer/maddpg.py, `update`).
    """
    if not networks.discrete:
        actions, _ = networks.loss_actions(key, target_actor, batch.next_obs, batch.next_legal)
        return same_joint_action(actions)
    logits = networks.actor_output(target_actor, batch.next_obs)  # f32[K, N, A], drawn from once
    temperature, estimator = networks.gumbel_temperature, networks.gumbel_estimator

    def _draw(critic_key: jax.Array) -> jax.Array:
        return gumbel.relaxed_action(critic_key, logits, batch.next_legal, temperature, estimator)

    keys = jax.random.split(key, logits.shape[-2])
    return jnp.swapaxes(jax.vmap(_draw)(keys), 0, 1)  # [N critics, K, N, A] -> [K, N, N, A]


def td_targets(
    target_params: Params,
    batch: Transition,
    key: jax.Array,
    networks: ActorCriticNetworks,
    gamma: float,
) -> jax.Array:
    """f32[K, N]: y_i = r_i + gamma (1 - terminated) Q'_i(x', mu'(o'_1), ..., mu'(o'_N)).

    Discrete actions: mu'(o'_j) is the target actor's Gumbel-softmax sample over the legal
    actions of o'_j (relaxed, or its one-hot when `gumbel_estimator` is straight_through),
    drawn afresh for each agent i's critic (`target_joint_actions`; continuous: `key` is
    not read).
    """
    joint = target_joint_actions(key, target_params["actor"], batch, networks)
    next_q = networks.centralised_q(target_params["critic"], batch.next_obs, joint)
    return td_target(batch.reward, batch.terminated, next_q, gamma)


def critic_loss(
    critic_params: Any,
    target_params: Params,
    batch: Transition,
    key: jax.Array,
    networks: ActorCriticNetworks,
    gamma: float,
) -> CriticParts:
    """The critic's TD loss on a batch of K transitions, targets from the target networks
    (`key`: the discrete target actions' Gumbel noise)."""
    target = jax.lax.stop_gradient(td_targets(target_params, batch, key, networks, gamma))
    q = networks.centralised_q(critic_params, batch.obs, same_joint_action(batch.actions))
    return CriticParts(jnp.mean(jnp.square(q - target)), q.mean(), target.mean())


def actor_loss(
    actor_params: Any,
    critic_params: Any,
    batch: Transition,
    key: jax.Array,
    networks: ActorCriticNetworks,
    logit_penalty: float = 0.0,
) -> jax.Array:
    """f32[]: -mean Q_i(x, a_1..mu_i(o_i)..a_N) (differentiate with respect to the actor only).

    Discrete actions: mu_i(o_i) is the Gumbel-softmax sample (noise from `key`) of the legal
    logits l(o_i), and `logit_penalty * mean(l^2)` is added (continuous: neither).
    """
    own, logits = networks.loss_actions(key, actor_params, batch.obs, batch.legal)
    q = networks.centralised_q(critic_params, batch.obs, own_action_swapped(own, batch.actions))
    if not networks.discrete:
        return -jnp.mean(q)
    return -jnp.mean(q) + logit_penalty * gumbel.logit_penalty(logits)
