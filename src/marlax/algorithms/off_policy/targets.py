"""What both learners' targets share: the one-step TD target and the Polyak average.

    y_i = r_i + gamma * (1 - terminated) * V'_i          (per agent i)
    target <- tau * online + (1 - tau) * target

A time limit is not a termination: the transition's `next_obs` is then the true final
observation and V' is evaluated on it, so truncated episodes bootstrap.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax


def td_target(
    reward: jax.Array, terminated: jax.Array, next_value: jax.Array, gamma: float
) -> jax.Array:
    """y = r + gamma * (1 - terminated) * next_value, per agent.

    Args:
        reward: f32[K, N]; terminated: bool[K]; next_value: f32[K, N].

    Returns:
        f32[K, N].
    """
    keep = 1.0 - terminated.astype(jnp.float32)[:, None]
    return reward + gamma * keep * next_value


def polyak(online: Any, target: Any, tau: float) -> Any:
    """tau * online + (1 - tau) * target, leaf by leaf (tau = 1 copies the online tree)."""
    return optax.incremental_update(online, target, tau)
