"""MAML's inner and outer objectives for one task (Finn et al. 2017, Algorithm 3).

    batch = collect(key, theta, task, inner)                  # sampled episodes, no gradient
    loss = meta_loss(theta, batch, inner)                     # differentiable in theta
    adapted = adapt(theta, batch.inner, inner)                # theta after the inner steps

The inner step is SGD on the REINFORCE surrogate L(phi; D) = -mean_{valid t} log pi_phi(a_t |
s_t) A_t of episodes D sampled with phi:  phi_{i+1} = phi_i - alpha grad L(phi_i; D_i),
phi_0 = theta. The outer loss is L(phi_S; D_S) on fresh episodes of the adapted policy, and
its gradient flows through every inner step (second order), or treats the inner gradients as
constants (`first_order`: then d phi_S / d theta = I). As in the reference code, the episodes
and their advantages are data: sampling is not differentiated (`collect` plays the same
inner steps as `meta_loss` recomputes, so the two agree on every phi_i).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.maml.advantages import task_advantages
from marlax.algorithms.maml.rollout import (
    Sampler,
    Trajectories,
    episode_returns,
    policy_distribution,
    sample_trajectories,
)


@dataclass(frozen=True)
class InnerLoop:
    """The settings of the adaptation: who samples, how many steps, how large."""

    sampler: Sampler
    inner_steps: int
    inner_lr: float
    first_order: bool = False
    gamma: float = 0.99
    baseline: str = "linear"
    normalize_advantages: bool = True


@struct.dataclass
class Batch:
    """Episodes of one policy on one task, with their advantages f32[T, K, N]."""

    trajectories: Trajectories
    advantages: jax.Array


@struct.dataclass
class MetaBatch:
    """One task's data: a `Batch` per inner step (sampled by phi_0 .. phi_{S-1}) and the
    outer `Batch` (sampled by phi_S)."""

    inner: tuple[Batch, ...]
    outer: Batch


def surrogate_loss(actor_params: Any, batch: Batch, sampler: Sampler) -> jax.Array:
    """f32[]: -sum(valid log pi(a|s) A) / #valid, the policy-gradient surrogate."""
    trajectories = batch.trajectories
    policy = policy_distribution(sampler, actor_params, trajectories.obs, trajectories.legal)
    log_prob = policy.log_prob(trajectories.actions)  # f32[T, K, N]
    valid = jnp.broadcast_to(trajectories.valid[..., None], log_prob.shape)
    total = jnp.sum(jnp.where(valid, log_prob * batch.advantages, 0.0))
    return -total / jnp.maximum(jnp.sum(valid), 1)


def inner_update(actor_params: Any, batch: Batch, inner: InnerLoop) -> Any:
    """phi - alpha grad L(phi; batch); the gradient is a constant under `first_order`."""
    grads = jax.grad(surrogate_loss)(actor_params, batch, inner.sampler)
    if inner.first_order:
        grads = jax.lax.stop_gradient(grads)
    return jax.tree.map(lambda param, grad: param - inner.inner_lr * grad, actor_params, grads)


def adapt(actor_params: Any, batches: tuple[Batch, ...], inner: InnerLoop) -> Any:
    """The parameters after one inner update on each of `batches`, in order."""
    for batch in batches:
        actor_params = inner_update(actor_params, batch, inner)
    return actor_params


def sample_batch(key: jax.Array, actor_params: Any, task: Any, inner: InnerLoop) -> Batch:
    """K fresh episodes of `task` under `actor_params`, with their advantages."""
    trajectories = sample_trajectories(key, actor_params, task, inner.sampler)
    advantages = task_advantages(
        trajectories, inner.gamma, inner.baseline, inner.normalize_advantages
    )
    return Batch(trajectories, advantages)


def collect(key: jax.Array, theta: Any, task: Any, inner: InnerLoop) -> MetaBatch:
    """Play the adaptation on `task`: sample, step, sample, ..., then the outer episodes."""
    keys = jax.random.split(key, inner.inner_steps + 1)
    params = jax.lax.stop_gradient(theta)
    batches = []
    for step in range(inner.inner_steps):
        batches.append(sample_batch(keys[step], params, task, inner))
        params = inner_update(params, batches[-1], inner)
    outer = sample_batch(keys[-1], params, task, inner)
    return MetaBatch(tuple(batches), outer)


def meta_loss(theta: Any, batch: MetaBatch, inner: InnerLoop) -> jax.Array:
    """f32[]: the outer surrogate of the adapted parameters, as a function of theta."""
    return surrogate_loss(adapt(theta, batch.inner, inner), batch.outer, inner.sampler)


def stage_returns(batch: MetaBatch) -> jax.Array:
    """f32[S + 1]: the mean episode return before adaptation and after each inner step."""
    stages = (*batch.inner, batch.outer)
    return jnp.stack([episode_returns(stage.trajectories).mean() for stage in stages])
