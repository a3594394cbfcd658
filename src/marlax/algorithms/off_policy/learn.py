"""Gradient steps on sampled transitions: critic, then actor (then SAC's temperature), then
a Polyak step of the targets.

    state, metrics = learn(state, key, setup)      # `gradient_steps` steps; metric means

Each network has its own optimiser (clip, then Adam/RAdam/Muon from the `optimizer` section)
and is stepped on its own loss alone: the actor loss is differentiated with respect to the
actor's parameters only, so the critic never moves to please the actor.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from marlax.algorithms.off_policy import maddpg, sac
from marlax.algorithms.off_policy.replay import Transition
from marlax.algorithms.off_policy.targets import polyak
from marlax.algorithms.off_policy.types import OffPolicySetup, OffPolicyTrainState

Metrics = dict[str, jax.Array]


def _apply(
    optimizer: optax.GradientTransformation, grads: Any, opt_state: Any, params: Any
) -> tuple[Any, Any]:
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state


def _critic_step(
    state: OffPolicyTrainState, loss_fn: Any, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, maddpg.CriticParts]:
    """One critic step on `loss_fn(critic_params) -> CriticParts`."""

    def _loss(critic_params: Any) -> tuple[jax.Array, maddpg.CriticParts]:
        parts = loss_fn(critic_params)
        return parts.loss, parts

    grads, parts = jax.grad(_loss, has_aux=True)(state.params["critic"])
    critic, opt_state = _apply(
        setup.critic_optimizer, grads, state.critic_opt_state, state.params["critic"]
    )
    params = {**state.params, "critic": critic}
    return state.replace(params=params, critic_opt_state=opt_state), parts


def _actor_step(
    state: OffPolicyTrainState, grads: Any, setup: OffPolicySetup
) -> OffPolicyTrainState:
    actor, opt_state = _apply(
        setup.actor_optimizer, grads, state.actor_opt_state, state.params["actor"]
    )
    return state.replace(params={**state.params, "actor": actor}, actor_opt_state=opt_state)


def maddpg_step(
    state: OffPolicyTrainState, batch: Transition, key: jax.Array, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, Metrics]:
    """MADDPG's critic step, then its actor step against the updated critic (`key`: the
    Gumbel noise of discrete actions' relaxed samples)."""
    networks, gamma = setup.networks, setup.off_policy.gamma
    critic_key, actor_key = jax.random.split(key)
    target = state.target_params
    state, parts = _critic_step(
        state,
        lambda critic: maddpg.critic_loss(critic, target, batch, critic_key, networks, gamma),
        setup,
    )
    loss, grads = jax.value_and_grad(maddpg.actor_loss)(
        state.params["actor"],
        state.params["critic"],
        batch,
        actor_key,
        networks,
        setup.off_policy.logit_penalty,
    )
    state = _actor_step(state, grads, setup)
    return state, {
        "loss/critic": parts.loss,
        "loss/actor": loss,
        "q/taken": parts.q,
        "q/target": parts.target,
    }


def sac_step(
    state: OffPolicyTrainState, batch: Transition, key: jax.Array, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, Metrics]:
    """SAC's critic step, actor step and (with `autotune_alpha`) temperature step."""
    networks, gamma = setup.networks, setup.off_policy.gamma
    critic_key, actor_key = jax.random.split(key)
    alpha = jnp.exp(state.log_alpha)
    target_critic, actor = state.target_params["critic"], state.params["actor"]
    state, parts = _critic_step(
        state,
        lambda critic: sac.critic_loss(
            critic, target_critic, actor, alpha, batch, critic_key, networks, gamma
        ),
        setup,
    )

    def _actor_loss(actor_params: Any) -> tuple[jax.Array, sac.ActorParts]:
        actor_parts = sac.actor_loss(
            actor_params, state.params["critic"], alpha, batch, actor_key, networks
        )
        return actor_parts.loss, actor_parts

    grads, actor_parts = jax.grad(_actor_loss, has_aux=True)(actor)
    state = _actor_step(state, grads, setup)
    target_entropy = setup.target_entropy
    temperature_loss, alpha_grad = jax.value_and_grad(sac.alpha_loss)(
        state.log_alpha, actor_parts.log_prob, target_entropy
    )
    if setup.off_policy.autotune_alpha:
        log_alpha, alpha_opt_state = _apply(
            setup.alpha_optimizer, alpha_grad, state.alpha_opt_state, state.log_alpha
        )
        state = state.replace(log_alpha=log_alpha, alpha_opt_state=alpha_opt_state)
    metrics = {
        "loss/critic": parts.loss,
        "loss/actor": actor_parts.loss,
        "loss/alpha": temperature_loss,
        "q/taken": parts.q,
        "q/target": parts.target,
        "alpha": alpha,
        "entropy": -actor_parts.log_prob.mean(),
    }
    return state, metrics


def gradient_step(
    state: OffPolicyTrainState, key: jax.Array, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, Metrics]:
    """Sample a batch, step the learner's networks, move the targets by `tau`."""
    sample_key, loss_key = jax.random.split(key)
    batch = setup.replay.sample(state.buffer, sample_key)
    if setup.algorithm == "maddpg":
        state, metrics = maddpg_step(state, batch, loss_key, setup)
    else:
        state, metrics = sac_step(state, batch, loss_key, setup)
    online = {name: state.params[name] for name in setup.target_names}
    target = polyak(online, state.target_params, setup.off_policy.tau)
    return state.replace(target_params=target), metrics


def learn(
    state: OffPolicyTrainState, key: jax.Array, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, Metrics]:
    """`gradient_steps` gradient steps; each metric's mean over them."""
    keys = jax.random.split(key, setup.off_policy.gradient_steps)
    state, metrics = jax.lax.scan(lambda s, k: gradient_step(s, k, setup), state, keys)
    return state, jax.tree.map(jnp.mean, metrics)


def skip_learning(
    state: OffPolicyTrainState, key: jax.Array, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, Metrics]:
    """No gradient step (before `learning_starts`); every learning metric NaN."""
    _, shapes = jax.eval_shape(lambda s, k: learn(s, k, setup), state, key)
    return state, jax.tree.map(lambda s: jnp.full(s.shape, jnp.nan, s.dtype), shapes)
