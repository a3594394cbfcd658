"""Acting on Q-values: greedy and epsilon-greedy choices that never pick an illegal action."""

from __future__ import annotations

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
    noise = jax.random.gumbel(key, legal.shape)
    return jnp.argmax(jnp.where(legal, noise, -jnp.inf), axis=-1).astype(jnp.int32)


def epsilon_greedy(key: jax.Array, q: jax.Array, legal: jax.Array, epsilon: jax.Array) -> jax.Array:
    """i32[...]: per agent, a uniform legal action with probability `epsilon`, else `greedy`.

    Args:
        q: f32[..., A]; legal: bool[..., A]; epsilon: f32[] in [0, 1].
    """
    explore_key, action_key = jax.random.split(key)
    explore = jax.random.uniform(explore_key, q.shape[:-1]) < epsilon
    return jnp.where(explore, random_legal(action_key, legal), greedy(q, legal))


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
