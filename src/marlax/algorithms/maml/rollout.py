"""K whole episodes of one task under fixed policy parameters, in one `lax.scan`.

    sampler = Sampler(actor, env, trajectories=20, action_scale=ActionScale.of(env, True))
    trajectories = sample_trajectories(key, actor_params, task, sampler)
    returns = episode_returns(trajectories)                     # f32[K]

Every episode starts at `env.reset_to_task(key, task)` and the scan runs `env.max_steps`
steps; an episode that ends earlier keeps stepping without auto-reset, and its later steps
are marked invalid (they count for nothing). The actions are sampled from the policy's
distribution; no gradient flows through sampling (MAML's score-function estimator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.envs.spaces import Box, Discrete
from marlax.models.heads import distribution


@dataclass(frozen=True)
class ActionScale:
    """How a continuous policy's actions u become env actions: low + (u + 1) (high - low) / 2
    (rllab's `normalize`); `None` bounds mean the policy acts in env units."""

    low: tuple[float, ...] | None = None
    high: tuple[float, ...] | None = None

    @classmethod
    def of(cls, env: Any, normalize: bool) -> ActionScale:
        """The scaling for `env`'s action space (identity for discrete or unbounded boxes)."""
        space = env.action_space
        if not normalize or isinstance(space, Discrete) or not isinstance(space, Box):
            return cls()
        low = jnp.broadcast_to(jnp.asarray(space.low, jnp.float32), space.shape)
        high = jnp.broadcast_to(jnp.asarray(space.high, jnp.float32), space.shape)
        if not (jnp.all(jnp.isfinite(low)) and jnp.all(jnp.isfinite(high))):
            return cls()
        return cls(tuple(float(v) for v in low), tuple(float(v) for v in high))

    def env_actions(self, actions: jax.Array) -> jax.Array:
        """Policy actions [..., A] (or i32[...]) as the env takes them."""
        if self.low is None:
            return actions
        low = jnp.broadcast_to(jnp.asarray(self.low, jnp.float32), actions.shape)
        high = jnp.broadcast_to(jnp.asarray(self.high, jnp.float32), actions.shape)
        return low + (actions + 1.0) * 0.5 * (high - low)


@dataclass(frozen=True)
class Sampler:
    """What plays a task's episodes: the actor, the task family and K."""

    actor: Any  # a feed-forward RecurrentModel (carry f32[*batch, 0])
    env: Any  # a marlax.envs.meta.TaskFamily
    trajectories: int
    action_scale: ActionScale = ActionScale()

    @property
    def num_agents(self) -> int:
        return self.env.num_agents

    @property
    def max_steps(self) -> int:
        return self.env.max_steps

    @property
    def obs_rank(self) -> int:
        """Axes of one agent's observation (1 for vectors)."""
        return len(self.env.observation_space.shape)


@struct.dataclass
class Trajectories:
    """K episodes of one task, time-major ([T] = max_steps, [K] episodes, [N] agents)."""

    obs: jax.Array  # [T, K, N, *obs_shape] what the policy saw before acting
    actions: jax.Array  # f32[T, K, N, A] (policy units) or i32[T, K, N]
    rewards: jax.Array  # f32[T, K, N]
    valid: jax.Array  # bool[T, K] the step was taken before the episode ended
    legal: jax.Array | None  # bool[T, K, N, A] legal actions (None: continuous)


@struct.dataclass
class _Carry:
    """The scan carry of `sample_trajectories`."""

    obs: jax.Array  # [K, N, *obs_shape]
    env_state: Any  # batched [K]
    alive: jax.Array  # bool[K]
    key: jax.Array


def policy_distribution(
    sampler: Sampler, actor_params: Any, obs: jax.Array, legal: jax.Array | None
) -> Any:
    """The feed-forward actor's action distribution on obs [*batch, *obs_shape] (every
    leading axis is a batch axis: the actor has no memory)."""
    leading = obs.shape[: obs.ndim - sampler.obs_rank]
    carry = sampler.actor.initialize_carry(leading)
    _, (output, _) = sampler.actor.apply(actor_params, carry, obs, jnp.zeros(leading, bool))
    return distribution(output, legal)


def _step(
    sampler: Sampler, actor_params: Any, carry: _Carry
) -> tuple[_Carry, tuple[jax.Array, ...]]:
    """One step of the K envs; returns the stacked (obs, action, reward, valid, legal)."""
    env = sampler.env
    key, action_key, step_key = jax.random.split(carry.key, 3)
    legal = _legal(env, carry.env_state)
    policy = policy_distribution(sampler, actor_params, carry.obs, legal)
    actions = policy.sample(action_key)
    step_keys = jax.random.split(step_key, sampler.trajectories)
    obs, env_state, reward, done, _ = jax.vmap(env.step)(
        step_keys, carry.env_state, sampler.action_scale.env_actions(actions)
    )
    stacked = (carry.obs, actions, reward, carry.alive, legal)
    return _Carry(obs, env_state, carry.alive & ~done, key), stacked


def _legal(env: Any, env_state: Any) -> jax.Array | None:
    """bool[K, N, A] legal actions of a discrete env; None for continuous actions."""
    if not isinstance(env.action_space, Discrete):
        return None
    return jax.vmap(env.action_mask)(env_state)


def sample_trajectories(
    key: jax.Array, actor_params: Any, task: Any, sampler: Sampler
) -> Trajectories:
    """K episodes of `task` with actions sampled from the actor (parameters not differentiated).

    Args:
        key: the episodes' key.
        actor_params: the actor's parameters (one task's, no seed axis).
        task: a task pytree of the family (`env.sample_task`).

    Returns:
        `Trajectories` of T = max_steps steps.
    """
    actor_params = jax.lax.stop_gradient(actor_params)
    reset_key, key = jax.random.split(key)
    reset_keys = jax.random.split(reset_key, sampler.trajectories)
    obs, env_state = jax.vmap(sampler.env.reset_to_task, in_axes=(0, None))(reset_keys, task)
    carry = _Carry(obs, env_state, jnp.ones((sampler.trajectories,), bool), key)

    def _body(carry: _Carry, _: None) -> tuple[_Carry, tuple[jax.Array, ...]]:
        """Carries the K envs; stacks what each step saw and did."""
        return _step(sampler, actor_params, carry)

    _, (obs_t, actions_t, reward_t, valid_t, legal_t) = jax.lax.scan(
        _body, carry, None, length=sampler.max_steps
    )
    return Trajectories(obs_t, actions_t, reward_t, valid_t, legal_t)


def episode_returns(trajectories: Trajectories) -> jax.Array:
    """f32[K]: each episode's return (team mean over agents, undiscounted)."""
    team_reward = trajectories.rewards.mean(axis=-1)
    return jnp.sum(jnp.where(trajectories.valid, team_reward, 0.0), axis=0)
