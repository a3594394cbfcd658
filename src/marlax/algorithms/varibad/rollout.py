"""One whole trial in each of B envs, acting on the encoder's running belief.

Every update starts B fresh trials and steps them for the trial length T = k x the family's
`max_steps`. A trial that ends sooner (an inner episode reached its goal) is followed by the
start of another in the same env (auto-reset); those steps are played but carry `alive` = 0
and count in neither loss. The encoder's memory starts from the prior at each trial's first
step and is kept across the trial's inner episodes (only `first` clears it).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.varibad.networks import VariBADNetworks
from marlax.envs.wrappers.vector import VectorEnv
from marlax.models.heads import distribution


@struct.dataclass
class Trials:
    """A rollout of B trials: every leaf leads with [T, B, N] (time, env, agent)."""

    obs: jax.Array  # f32[T, B, N, O] the TrialEnv observation acted on
    next_obs: jax.Array  # f32[T, B, N, O] what the step showed (before any auto-reset)
    policy_input: jax.Array  # f32[T, B, N, D + 2L]
    actions: jax.Array  # i32[T, B, N] or f32[T, B, N, A]
    log_prob: jax.Array  # f32[T, B, N]
    value: jax.Array  # f32[T, B, N]
    reward: jax.Array  # f32[T, B, N]
    done: jax.Array  # bool[T, B] the step ended the trial
    alive: jax.Array  # f32[T, B] 1 while the update's first trial in the env runs
    inner_done: jax.Array  # bool[T, B] the step ended an inner episode
    episode_in_trial: jax.Array  # i32[T, B] the inner episode the step belongs to


@struct.dataclass
class _Carry:
    """What the next step acts on."""

    obs: jax.Array  # f32[B, N, O]
    env_state: Any
    hidden: jax.Array  # f32[B, N, H] the encoder's GRU state
    first: jax.Array  # bool[B] the next step starts a trial
    over: jax.Array  # bool[B] the update's first trial has ended


class BeliefStep(struct.PyTreeNode):
    """The encoder's memory after one observation: GRU state and belief (mean, logvar)."""

    hidden: jax.Array  # f32[..., H]
    mean: jax.Array  # f32[..., L]
    logvar: jax.Array  # f32[..., L]


def update_belief(
    networks: VariBADNetworks, vae_params: Any, hidden: jax.Array, obs: jax.Array, first: Any
) -> BeliefStep:
    """The belief to act on at `obs`: the prior where `first` (a trial starts: the feedback in
    `obs` belongs to no step of it), else the encoder's step from `hidden` on `obs`.

    Args:
        hidden: f32[*batch, H]; obs: f32[*batch, O]; first: bool[*batch] (or broadcastable).
    """
    batch = obs.shape[:-1]
    prior_hidden, prior_mean, prior_logvar = networks.prior(vae_params, batch)
    new_hidden, mean, logvar = networks.encode_step(vae_params, hidden, obs)
    first = jnp.broadcast_to(first, batch)[..., None]
    return BeliefStep(
        hidden=jnp.where(first, prior_hidden, new_hidden),
        mean=jnp.where(first, prior_mean, mean),
        logvar=jnp.where(first, prior_logvar, logvar),
    )


def play_trials(
    key: jax.Array,
    networks: VariBADNetworks,
    env: VectorEnv,
    policy_params: Any,
    vae_params: Any,
) -> Trials:
    """B fresh trials of `env` (a `VectorEnv` of a `TrialEnv`), T steps each.

    Keys: `reset_key, loop_key = split(key)`; step t uses `split(loop_key, T)[t]`, split into
    (action key, env key).

    Returns:
        `Trials` with leaves [T, B, N, ...].
    """
    reset_key, loop_key = jax.random.split(key)
    obs, env_state = env.reset(reset_key)
    num_envs, num_agents = obs.shape[0], obs.shape[1]
    start = _Carry(
        obs=obs,
        env_state=env_state,
        hidden=networks.encoder.initial_hidden((num_envs, num_agents)),
        first=jnp.ones(num_envs, bool),
        over=jnp.zeros(num_envs, bool),
    )

    def _body(carry: _Carry, step_key: jax.Array) -> tuple[_Carry, Trials]:
        """Carries env, encoder memory and trial flags; stacks one step of `Trials`."""
        action_key, env_key = jax.random.split(step_key)
        belief = update_belief(networks, vae_params, carry.hidden, carry.obs, carry.first[:, None])
        policy_input = networks.policy_input(carry.obs, belief.mean, belief.logvar)
        policy_output, value = networks.actor_critic(policy_params, policy_input)
        policy = distribution(policy_output)
        actions = policy.sample(action_key)
        obs, env_state, reward, done, info = env.step(env_key, carry.env_state, actions)
        step = Trials(
            obs=carry.obs,
            next_obs=info["final_obs"],
            policy_input=policy_input,
            actions=actions,
            log_prob=policy.log_prob(actions),
            value=value,
            reward=reward,
            done=done,
            alive=(~carry.over).astype(jnp.float32),
            inner_done=info["inner_done"],
            episode_in_trial=info["episode_in_trial"],
        )
        carry = _Carry(obs, env_state, belief.hidden, done, carry.over | done)
        return carry, step

    trial_length = env.env.max_steps
    _, trials = jax.lax.scan(_body, start, jax.random.split(loop_key, trial_length))
    return trials
