"""Play T steps in each of the B envs, continuing their episodes, and record transitions.

    obs, log_state, transitions, stats = collect(key, obs, log_state, params, exploration, setup)

The envs are a `LogWrapper(VectorEnv(env))` whose state lives in the train state, so an
episode that is still running at the end of an update goes on in the next one (no reset per
update). Actions are chosen in the learner's box [-1, 1] (`explore_actions`) and mapped onto
the env's box only when stepping; discrete actions are chosen as one-hot vectors and stepped
as their index.

Exploration: continuous MADDPG adds Gaussian noise to mu(o) (the `noise_*` schedule).
Discrete MADDPG samples its actor's categorical distribution softmax(legal logits) by
Gumbel-max, the hard counterpart of openai/maddpg's acting sample (the argmax of its
Gumbel-softmax sample, maddpg/trainer/maddpg.py:45); that sampling is its exploration, kept
alive by the actor loss's logit penalty, and the `noise_*` schedule is not read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from marlax.algorithms.common.episodes import EpisodeStats, episode_stats
from marlax.algorithms.off_policy.gumbel import gumbel_max, uniform_legal
from marlax.algorithms.off_policy.networks import ActorCriticNetworks, Params
from marlax.algorithms.off_policy.replay import Transition
from marlax.algorithms.off_policy.sac import sample_squashed
from marlax.algorithms.off_policy.types import OffPolicySetup
from marlax.config.actor_critic import OffPolicyConfig
from marlax.envs.wrappers import LogWrapper, VectorEnv


def _vector_env(setup: OffPolicySetup) -> LogWrapper:
    return LogWrapper(VectorEnv(setup.env, num_envs=setup.num_envs, num_resets=setup.num_resets))


class Exploration(NamedTuple):
    """How this update's actions are drawn."""

    uniform: jax.Array  # bool[] uniform-random actions (before learning starts)
    noise_std: jax.Array  # f32[] MADDPG's Gaussian noise std (in [-1, 1] units)


def noise_std_at(off_policy: OffPolicyConfig, env_steps: jax.Array, total_env_steps: int):
    """f32[]: MADDPG's noise std after `env_steps`, falling linearly from noise_std_start to
    noise_std_finish over the first `noise_decay` of the run, then constant."""
    decay_steps = off_policy.noise_decay * total_env_steps
    fraction = jnp.clip(env_steps / jnp.maximum(decay_steps, 1.0), 0.0, 1.0)
    if off_policy.noise_decay == 0.0:
        fraction = jnp.ones_like(fraction)
    start, finish = off_policy.noise_std_start, off_policy.noise_std_finish
    return (start + fraction * (finish - start)).astype(jnp.float32)


def explore_actions(
    key: jax.Array,
    actor_params: Any,
    obs: jax.Array,
    exploration: Exploration,
    networks: ActorCriticNetworks,
    legal: jax.Array | None = None,
) -> jax.Array:
    """f32[..., N, A] in [-1, 1]: uniform, or the actor's with exploration (MADDPG:
    mu(o) + Gaussian noise, clipped; SAC: a sample of the squashed Gaussian). Discrete
    MADDPG: one-hot, a uniform legal action or a Gumbel-max sample of the legal logits.

    Args:
        obs: f32[..., N, D]; legal: bool[..., N, A] (read when discrete; None = all legal).
    """
    uniform_key, policy_key = jax.random.split(key)
    shape = (*obs.shape[:-1], networks.action_dim)
    out = networks.actor_output(actor_params, obs)
    if networks.discrete:
        legal = networks.all_legal(obs) if legal is None else legal
        uniform = uniform_legal(uniform_key, legal)
        return jnp.where(exploration.uniform, uniform, gumbel_max(policy_key, out, legal))
    uniform = jax.random.uniform(uniform_key, shape, minval=-1.0, maxval=1.0)
    if networks.algorithm == "maddpg":
        noise = exploration.noise_std * jax.random.normal(policy_key, shape)
        policy = jnp.clip(out + noise, -1.0, 1.0)
    else:
        policy, _ = sample_squashed(policy_key, *out)
    return jnp.where(exploration.uniform, uniform, policy)


class _Carry(NamedTuple):
    obs: jax.Array  # f32[B, N, D]
    log_state: Any


def legal_actions(setup: OffPolicySetup, env_state: Any, obs: jax.Array) -> jax.Array:
    """bool[B, N, A]: the env's action masks (discrete), or all True (Box actions, which
    have no mask)."""
    if not setup.networks.discrete:
        return setup.networks.all_legal(obs)
    return jax.vmap(setup.env.action_mask)(env_state)


def collect(
    key: jax.Array,
    obs: jax.Array,
    log_state: Any,
    params: Params,
    exploration: Exploration,
    setup: OffPolicySetup,
) -> tuple[jax.Array, Any, Transition, EpisodeStats]:
    """`num_steps` steps of every env from where the last update left them.

    Args:
        obs: f32[B, N, D] the envs' current observations; log_state: their state.

    Returns:
        (obs, log_state after the steps, transitions with a leading axis T * B (time-major),
        episode stats [T, B]).
    """
    networks = setup.networks
    logged = _vector_env(setup)

    def _step(carry: _Carry, step_key: jax.Array) -> tuple[_Carry, tuple]:
        """Carries the envs' obs and state; stacks the transition and episode stats."""
        action_key, env_key = jax.random.split(step_key)
        legal = legal_actions(setup, carry.log_state.env_state, carry.obs)
        actions = explore_actions(
            action_key, params["actor"], carry.obs, exploration, networks, legal
        )
        next_obs, log_state, reward, _, info = logged.step(
            env_key, carry.log_state, networks.to_env(actions)
        )
        # the mask at the observation stepped into, before any auto-reset (the TD target's)
        next_legal = legal_actions(setup, info["final_state"], info["final_obs"])
        transition = Transition(
            carry.obs, actions, reward, info["final_obs"], info["terminated"], legal, next_legal
        )
        return _Carry(next_obs, log_state), (transition, episode_stats(info))

    keys = jax.random.split(key, setup.off_policy.num_steps)
    last, (transitions, stats) = jax.lax.scan(_step, _Carry(obs, log_state), keys)
    flat = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), transitions)
    return last.obs, last.log_state, flat, stats


def reset_envs(key: jax.Array, setup: OffPolicySetup) -> tuple[jax.Array, Any]:
    """(obs f32[B, N, D], log_state): fresh episodes in every env."""
    return _vector_env(setup).reset(key)
