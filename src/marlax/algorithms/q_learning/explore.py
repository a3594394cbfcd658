"""Acting on Q-values: greedy and epsilon-greedy choices that never pick an illegal action."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from marlax.config.q_learning import QLearningConfig


def masked_q(q: jax.Array, legal: jax.Array) -> jax.Array:
    """Q-values with illegal actions at -inf (so no argmax or max picks them).

    Args:
        q: f32[..., A]; legal: bool[..., A] (at least one True per row).
    """
    return jnp.where(legal, q, -jnp.inf)


def greedy(q: jax.Array, legal: jax.Array) -> jax.Array:
    """i32[...]: the best legal action."""
    return jnp.argmax(masked_q(q, legal), axis=-1).astype(jnp.int32)


def random_legal(key: jax.Array, legal: jax.Array) -> jax.Array:
    """i32[...]: a legal action drawn uniformly (Gumbel-argmax over the legal ones)."""
    return _gumbel_choice(jax.random.gumbel(key, legal.shape), legal)


def _gumbel_choice(gumbel: jax.Array, legal: jax.Array) -> jax.Array:
    return jnp.argmax(jnp.where(legal, gumbel, -jnp.inf), axis=-1).astype(jnp.int32)


class ExplorationNoise(NamedTuple):
    """The random draws of epsilon-greedy acting, made ahead (one call per kind per rollout:
    on XLA:CPU a `jax.random` call per step costs more than the step's own work)."""

    explore: jax.Array  # f32[..., ] uniform in [0, 1): explore where it is below epsilon
    gumbel: jax.Array  # f32[..., A] standard Gumbel: the random action is its legal argmax


def exploration_noise(key: jax.Array, shape: tuple[int, ...]) -> ExplorationNoise:
    """Noise for agents of shape `shape[:-1]` choosing among `shape[-1]` actions."""
    explore_key, action_key = jax.random.split(key)
    return ExplorationNoise(
        jax.random.uniform(explore_key, shape[:-1]), jax.random.gumbel(action_key, shape)
    )


def epsilon_greedy_with(
    noise: ExplorationNoise, q: jax.Array, legal: jax.Array, epsilon: jax.Array
) -> jax.Array:
    """i32[...]: a uniform legal action where `noise.explore < epsilon`, else `greedy`."""
    explore = noise.explore < epsilon
    return jnp.where(explore, _gumbel_choice(noise.gumbel, legal), greedy(q, legal))


def epsilon_greedy(key: jax.Array, q: jax.Array, legal: jax.Array, epsilon: jax.Array) -> jax.Array:
    """i32[...]: per agent, a uniform legal action with probability `epsilon`, else `greedy`.

    Args:
        q: f32[..., A]; legal: bool[..., A]; epsilon: f32[] in [0, 1].
    """
    return epsilon_greedy_with(exploration_noise(key, q.shape), q, legal, epsilon)


def epsilon_at(
    q_learning: QLearningConfig, env_steps: jax.Array, total_env_steps: int
) -> jax.Array:
    """f32[]: epsilon after `env_steps` steps, falling linearly from eps_start to eps_finish
    over the first `eps_decay` of `total_env_steps`, then constant."""
    decay_steps = q_learning.eps_decay * total_env_steps
    fraction = jnp.clip(env_steps / jnp.maximum(decay_steps, 1.0), 0.0, 1.0)
    if q_learning.eps_decay == 0.0:
        fraction = jnp.ones_like(fraction)
    start, finish = q_learning.eps_start, q_learning.eps_finish
    return (start + fraction * (finish - start)).astype(jnp.float32)
