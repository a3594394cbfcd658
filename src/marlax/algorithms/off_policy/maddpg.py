"""MADDPG's losses (Lowe et al. 2017, Algorithm 1), pure functions of a sampled batch.

For agent i with deterministic actors mu_j and a centralised critic Q_i(x, a_1..a_N), where x
is every agent's observation:

    y_i          = r_i + gamma * (1 - terminated) * Q'_i(x', mu'_1(o'_1), ..., mu'_N(o'_N))
    critic loss  = mean over batch and agents of (Q_i(x, a_1..a_N) - y_i)^2
    actor loss   = -mean over batch and agents of Q_i(x, a_1..mu_i(o_i)..a_N)

The primed networks are the Polyak-averaged targets; in the actor loss only agent i's own
action comes from its actor, the others' are the batch's (the paper's eq. (6)). The actor is
shared by all agents (parameter sharing with an agent id), and so is the critic.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

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


def td_targets(
    target_params: Params, batch: Transition, networks: ActorCriticNetworks, gamma: float
) -> jax.Array:
    """f32[K, N]: y_i = r_i + gamma (1 - terminated) Q'_i(x', mu'(o'_1), ..., mu'(o'_N))."""
    next_actions = networks.greedy_actions(target_params["actor"], batch.next_obs)
    next_q = networks.centralised_q(
        target_params["critic"], batch.next_obs, same_joint_action(next_actions)
    )
    return td_target(batch.reward, batch.terminated, next_q, gamma)


def critic_loss(
    critic_params: Any,
    target_params: Params,
    batch: Transition,
    networks: ActorCriticNetworks,
    gamma: float,
) -> CriticParts:
    """The critic's TD loss on a batch of K transitions, targets from the target networks."""
    target = jax.lax.stop_gradient(td_targets(target_params, batch, networks, gamma))
    q = networks.centralised_q(critic_params, batch.obs, same_joint_action(batch.actions))
    return CriticParts(jnp.mean(jnp.square(q - target)), q.mean(), target.mean())


def actor_loss(
    actor_params: Any, critic_params: Any, batch: Transition, networks: ActorCriticNetworks
) -> jax.Array:
    """f32[]: -mean Q_i(x, a_1..mu_i(o_i)..a_N) (differentiate with respect to the actor only)."""
    own = networks.greedy_actions(actor_params, batch.obs)
    q = networks.centralised_q(critic_params, batch.obs, own_action_swapped(own, batch.actions))
    return -jnp.mean(q)
