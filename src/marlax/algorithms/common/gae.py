"""Generalised advantage estimation with bootstrapping through truncation.

Schulman et al. 2016, "High-Dimensional Continuous Control Using Generalized Advantage
Estimation", eq. (16):

    delta_t = r_t + gamma * V_next_t - V(s_t)
    A_t     = delta_t + gamma * lambda * (1 - done_t) * A_{t+1}

`V_next_t` is the value of what follows step t: `V(s_{t+1})` inside an episode, `V(final_obs_t)`
when the episode was cut by a time limit (truncated: the future still has value), and 0 when it
terminated. `done_t` stops the recursion at every episode end, whatever the cause.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp


def next_values(
    value_t: jax.Array,
    last_value: jax.Array,
    final_value_t: jax.Array,
    done_t: jax.Array,
    terminated_t: jax.Array,
) -> jax.Array:
    """The value of what follows each step of one trajectory.

    Args:
        value_t: f32[T] V(s_t) from the rollout.
        last_value: f32[] V(s_T), the state after the last step.
        final_value_t: f32[T] V(final_obs_t), used where the episode was truncated.
        done_t: bool[T] the episode ended at step t (terminated or truncated).
        terminated_t: bool[T] it ended in a terminal state (no bootstrap).

    Returns:
        f32[T] V_next_t.
    """
    chex.assert_rank([value_t, last_value], [1, 0])
    following = jnp.concatenate([value_t[1:], last_value[None]])
    at_end = jnp.where(terminated_t, 0.0, final_value_t)
    return jnp.where(done_t, at_end, following)


def gae(
    reward_t: jax.Array,
    value_t: jax.Array,
    next_value_t: jax.Array,
    done_t: jax.Array,
    gamma: float,
    gae_lambda: float,
) -> tuple[jax.Array, jax.Array]:
    """Advantages and value targets of one trajectory.

    Args:
        reward_t: f32[T].
        value_t: f32[T] V(s_t).
        next_value_t: f32[T] from `next_values`.
        done_t: bool[T] the episode ended at step t.
        gamma: discount in [0, 1].
        gae_lambda: lambda in [0, 1].

    Returns:
        (advantages f32[T], targets f32[T] = advantages + value_t).
    """
    chex.assert_rank([reward_t, value_t, next_value_t, done_t], 1)
    chex.assert_equal_shape([reward_t, value_t, next_value_t, done_t])
    delta_t = reward_t + gamma * next_value_t - value_t
    decay_t = gamma * gae_lambda * (1.0 - done_t.astype(jnp.float32))

    def _body(advantage: jax.Array, step: tuple[jax.Array, jax.Array]) -> tuple:
        """Carries A_{t+1}; stacks A_t."""
        delta, decay = step
        advantage = delta + decay * advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(
        _body, jnp.zeros((), jnp.float32), (delta_t, decay_t), reverse=True
    )
    return advantages, advantages + value_t
