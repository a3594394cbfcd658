"""What an actor computes on its CPU: one jitted step of the policy and one of the value.

    policy = ActingFunctions.build(networks)
    carries, action, log_prob, value, key = policy.act(params, carries, obs, reset, legal, key)
    value = policy.value(params, carries, obs, reset)

Both read PPO's `Networks.evaluate` (independent or shared critic: no centralised input) and
sample as PPO's rollout does (`sample_with_noise`), so what the learner's loss recomputes from
a stored step is exactly what the actor saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.networks import Networks, Params
from marlax.algorithms.ppo.rollout import sample_with_noise
from marlax.models.heads import DiagGaussian, distribution

Carries = tuple[Any, Any]
"""(actor carry, critic carry), leaves [B, N, ...]."""


def _act(
    networks: Networks,
    params: Params,
    carries: Carries,
    obs: jax.Array,
    reset: jax.Array,
    legal: jax.Array,
    key: jax.Array,
) -> tuple[Carries, jax.Array, jax.Array, jax.Array, jax.Array]:
    """Sample every agent's action.

    Args:
        obs: [B, N, *obs_shape]; reset: bool[B, N] memory cleared first; legal: bool[B, N, A]
            (A = 0 for continuous actions); key: key[].

    Returns:
        (carries, action i32[B, N] or f32[B, N, A], log_prob f32[B, N], value f32[B, N], the
        next key).
    """
    key, noise_key = jax.random.split(key)
    actor_carry, critic_carry, output, value = networks.evaluate(
        params,
        *carries,
        obs,
        None,
        reset,  # no centralised critic (sebulba's config refuses it)
    )
    policy = distribution(output, None if legal.shape[-1] == 0 else legal)
    if isinstance(policy, DiagGaussian):
        noise = jax.random.normal(noise_key, policy.mean.shape, jnp.float32)
    else:
        noise = jax.random.gumbel(noise_key, policy.logits.shape, jnp.float32)
    action = sample_with_noise(policy, noise)
    return (actor_carry, critic_carry), action, policy.log_prob(action), value, key


def _value(
    networks: Networks, params: Params, carries: Carries, obs: jax.Array, reset: jax.Array
) -> jax.Array:
    """f32[B, N]: V(obs) with memory `carries` (cleared where `reset` bool[B, N])."""
    *_, value = networks.evaluate(params, *carries, obs, None, reset)
    return value


@dataclass(frozen=True)
class ActingFunctions:
    """The jitted `act` and `value` of one set of networks (shared by every actor thread:
    jitted functions may be called from several threads)."""

    act: Callable[..., tuple[Carries, jax.Array, jax.Array, jax.Array, jax.Array]]
    value: Callable[..., jax.Array]

    @classmethod
    def build(cls, networks: Networks) -> ActingFunctions:
        act = jax.jit(lambda *args: _act(networks, *args))
        value = jax.jit(lambda *args: _value(networks, *args))
        return cls(act, value)
