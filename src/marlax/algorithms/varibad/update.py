"""One VariBAD update of one seed: play B trials, PPO on the policy, then the VAE's steps.

As the reference's `metalearner.py` (with `rlloss_through_encoder` off): the policy learns
from the beliefs it acted on (stored in the rollout, stop-gradiented), then the encoder and
decoders take `vae_updates` Adam steps on the ELBO. The reference samples the VAE's batch
from a buffer of recent trajectories; here every VAE step uses the whole current rollout
(on-policy), so no buffer lives in the training state.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from marlax.algorithms.common.gae import gae, next_values
from marlax.algorithms.common.losses import clipped_surrogate, masked_mean, normalize, value_loss
from marlax.algorithms.common.shuffle import permutation
from marlax.algorithms.varibad.elbo import trajectories, vae_loss
from marlax.algorithms.varibad.networks import VariBADNetworks
from marlax.algorithms.varibad.rollout import Trials, play_trials
from marlax.config.schema import PPOConfig
from marlax.config.varibad import VariBADConfig
from marlax.envs.wrappers.vector import VectorEnv
from marlax.models.heads import distribution


@struct.dataclass
class VariBADState:
    """One seed's learner (the trainer stacks a leading seed axis S on every leaf)."""

    policy_params: Any  # {"actor", "critic"}
    vae_params: Any  # {"encoder", "reward_decoder"[, "state_decoder"]}
    policy_opt_state: Any
    vae_opt_state: Any
    key: jax.Array  # the seed's PRNG key


@struct.dataclass
class Samples:
    """PPO's learning data: T * B * N single steps, every leaf leads with that axis."""

    policy_input: jax.Array  # f32[M, D + 2L]
    actions: jax.Array  # i32[M] or f32[M, A]
    log_prob: jax.Array  # f32[M]
    value: jax.Array  # f32[M]
    advantages: jax.Array  # f32[M]
    targets: jax.Array  # f32[M]
    weight: jax.Array  # f32[M] 1 for steps of the update's first trial in each env


def advantages_and_targets(
    trials: Trials, gamma: float, gae_lambda: float
) -> tuple[jax.Array, jax.Array]:
    """GAE per (env, agent): a trial's end is terminal (nothing follows it to bootstrap).

    Returns:
        (advantages f32[T, B, N], targets f32[T, B, N]).
    """
    done = jnp.broadcast_to(trials.done[:, :, None], trials.reward.shape)

    def _one(reward_t: jax.Array, value_t: jax.Array, done_t: jax.Array) -> tuple:
        zeros = jnp.zeros_like(value_t)
        following = next_values(value_t, jnp.zeros((), jnp.float32), zeros, done_t, done_t)
        return gae(reward_t, value_t, following, done_t, gamma, gae_lambda)

    per_agent = jax.vmap(_one, in_axes=1, out_axes=1)
    per_env = jax.vmap(per_agent, in_axes=1, out_axes=1)
    return per_env(trials.reward, trials.value, done)


def samples_of(trials: Trials, ppo: PPOConfig) -> Samples:
    """The rollout as M = T * B * N single steps with GAE advantages."""
    advantages, targets = advantages_and_targets(trials, ppo.gamma, ppo.gae_lambda)
    weight = jnp.broadcast_to(trials.alive[:, :, None], trials.reward.shape)
    count = trials.reward.size

    def _flat(leaf: jax.Array) -> jax.Array:
        return leaf.reshape(count, *leaf.shape[3:])

    return Samples(
        policy_input=_flat(trials.policy_input),
        actions=_flat(trials.actions),
        log_prob=_flat(trials.log_prob),
        value=_flat(trials.value),
        advantages=_flat(advantages),
        targets=_flat(targets),
        weight=_flat(weight),
    )


def ppo_loss(
    policy_params: Any, networks: VariBADNetworks, ppo: PPOConfig, batch: Samples
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Clipped surrogate + value_coef * value loss - entropy_coef * entropy on `batch`."""
    policy_output, value = networks.actor_critic(policy_params, batch.policy_input)
    policy = distribution(policy_output)
    advantages = batch.advantages
    if ppo.normalize_advantages:
        advantages = normalize(advantages, batch.weight)
    surrogate, approx_kl, clip_fraction = clipped_surrogate(
        policy.log_prob(batch.actions), batch.log_prob, advantages, batch.weight, ppo.clip_eps
    )
    critic = value_loss(value, batch.value, batch.targets, batch.weight, ppo.value_clip_eps)
    entropy = masked_mean(policy.entropy(), batch.weight)
    total = surrogate + ppo.value_coef * critic - ppo.entropy_coef * entropy
    metrics = {
        "loss/policy": surrogate,
        "loss/value": critic,
        "loss/entropy": entropy,
        "loss/approx_kl": approx_kl,
        "loss/clip_fraction": clip_fraction,
    }
    return total, metrics


def learn_policy(
    key: jax.Array,
    policy_params: Any,
    opt_state: Any,
    samples: Samples,
    networks: VariBADNetworks,
    ppo: PPOConfig,
    optimizer: optax.GradientTransformation,
) -> tuple[Any, Any, dict[str, jax.Array]]:
    """`ppo.num_epochs` passes of `ppo.num_minibatches` shuffled minibatches of single steps.

    Returns:
        (policy params, optimiser state, the last minibatch's loss metrics).
    """
    count = samples.weight.shape[0]
    grad_fn = jax.grad(ppo_loss, has_aux=True)

    def _minibatch(carry: tuple, batch: Samples) -> tuple[tuple, dict]:
        """Carries (params, opt state); stacks the minibatch's metrics."""
        params, state = carry
        grads, metrics = grad_fn(params, networks, ppo, batch)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), metrics

    def _epoch(carry: tuple, epoch_key: jax.Array) -> tuple[tuple, dict]:
        """Carries (params, opt state); stacks the epoch's minibatch metrics."""
        order = permutation(epoch_key, count)
        shuffled = jax.tree.map(
            lambda leaf: leaf[order].reshape(ppo.num_minibatches, -1, *leaf.shape[1:]), samples
        )
        return jax.lax.scan(_minibatch, carry, shuffled)

    epoch_keys = jax.random.split(key, ppo.num_epochs)
    (policy_params, opt_state), metrics = jax.lax.scan(
        _epoch, (policy_params, opt_state), epoch_keys
    )
    return policy_params, opt_state, jax.tree.map(lambda m: m[-1, -1], metrics)


def learn_vae(
    key: jax.Array,
    vae_params: Any,
    opt_state: Any,
    trials: Trials,
    networks: VariBADNetworks,
    settings: VariBADConfig,
    optimizer: optax.GradientTransformation,
) -> tuple[Any, Any, dict[str, jax.Array]]:
    """`settings.vae_updates` Adam steps on the ELBO of the rollout's trajectories.

    Returns:
        (VAE params, optimiser state, the first step's ELBO terms: measured before this
        update changed the VAE).
    """
    paths = trajectories(trials)
    grad_fn = jax.grad(vae_loss, has_aux=True)

    def _step(carry: tuple, step_key: jax.Array) -> tuple[tuple, Any]:
        """Carries (params, opt state); stacks the step's ELBO terms."""
        params, state = carry
        grads, terms = grad_fn(params, step_key, networks, settings, paths)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), terms

    keys = jax.random.split(key, settings.vae_updates)
    (vae_params, opt_state), terms = jax.lax.scan(_step, (vae_params, opt_state), keys)
    metrics = {
        "vae/reward_reconstruction": terms.reward[0],
        "vae/state_reconstruction": terms.state[0],
        "vae/kl": terms.kl[0],
    }
    return vae_params, opt_state, metrics


def episode_returns(trials: Trials, episodes_per_trial: int) -> dict[str, jax.Array]:
    """Mean (over envs) team return of the trial and of each of its inner episodes."""
    team_reward = jnp.mean(trials.reward, axis=2) * trials.alive  # f32[T, B]
    metrics = {"return": jnp.mean(jnp.sum(team_reward, axis=0))}
    for episode in range(episodes_per_trial):
        inside = (trials.episode_in_trial == episode).astype(jnp.float32)
        per_env = jnp.sum(team_reward * inside, axis=0)
        metrics[f"return/episode_{episode + 1}"] = jnp.mean(per_env)
    return metrics


def varibad_update(
    state: VariBADState,
    networks: VariBADNetworks,
    env: VectorEnv,
    ppo: PPOConfig,
    settings: VariBADConfig,
    optimizers: tuple[optax.GradientTransformation, optax.GradientTransformation],
) -> tuple[VariBADState, dict[str, jax.Array]]:
    """Play B trials, take PPO's epochs on the policy and the VAE's steps (one seed).

    Keys: `key, rollout_key, policy_key, vae_key = split(state.key, 4)`.
    """
    policy_optimizer, vae_optimizer = optimizers
    key, rollout_key, policy_key, vae_key = jax.random.split(state.key, 4)
    trials = play_trials(rollout_key, networks, env, state.policy_params, state.vae_params)
    policy_params, policy_opt_state, policy_metrics = learn_policy(
        policy_key,
        state.policy_params,
        state.policy_opt_state,
        samples_of(trials, ppo),
        networks,
        ppo,
        policy_optimizer,
    )
    vae_params, vae_opt_state, vae_metrics = learn_vae(
        vae_key, state.vae_params, state.vae_opt_state, trials, networks, settings, vae_optimizer
    )
    new_state = VariBADState(policy_params, vae_params, policy_opt_state, vae_opt_state, key)
    metrics = {
        **episode_returns(trials, settings.episodes_per_trial),
        **policy_metrics,
        **vae_metrics,
    }
    return new_state, metrics
