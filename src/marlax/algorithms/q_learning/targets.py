"""TD targets and losses of IQL, VDN and QMIX on a batch of episode chunks (pure functions).

For a chunk of T steps the networks are unrolled over the T + 1 observations (the last is the
observation after step T - 1, before any reset), giving Q(o_t) for t = 0..T. At step t:

    a*_{t+1} = argmax over legal a of Q_online(o_{t+1}, a)      (double Q; plain: Q_target)
    y_t      = r_t + gamma * (1 - terminated_t) * Q_target(o_{t+1}, a*_{t+1})

IQL fits every agent's Q_i(o_t, a_t) to its own y_t; VDN and QMIX fit the team's
Q_tot = mix(Q_1, ..., Q_N; s_t) to y_t built from the team reward and mix(Q_target ...; s_{t+1}).
When step t ends an episode by termination the new episode's o_{t+1} is masked out by
`terminated_t`; a time limit can fall only on the chunk's last step, where o_T is the true final
observation, so truncated episodes bootstrap.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from marlax.algorithms.q_learning.explore import greedy


class ChunkBatch(NamedTuple):
    """A batch of K chunks, time-major, as the loss reads them."""

    actions: jax.Array  # i32[T, K, N]
    reward: jax.Array  # f32[T, K, N]
    terminated: jax.Array  # bool[T, K] the episode ended by termination at step t
    legal: jax.Array  # bool[T + 1, K, N, A]


def chosen_q(q: jax.Array, actions: jax.Array) -> jax.Array:
    """f32[...]: q f32[..., A] at actions i32[...]."""
    return jnp.take_along_axis(q, actions[..., None], axis=-1)[..., 0]


def next_q(online_q: jax.Array, target_q: jax.Array, legal: jax.Array, double_q: bool) -> jax.Array:
    """Q_target of the next step's best legal action, per agent.

    Args:
        online_q, target_q: f32[T + 1, K, N, A] Q-values of the online and target networks.
        legal: bool[T + 1, K, N, A].
        double_q: pick the action with the online network (else with the target).

    Returns:
        f32[T, K, N]: Q_target(o_{t+1}, a*_{t+1}) for t = 0..T-1.
    """
    chooser = online_q if double_q else target_q
    best = greedy(chooser[1:], legal[1:])
    return chosen_q(target_q[1:], best)


def td_target(reward: jax.Array, terminated: jax.Array, bootstrap: jax.Array, gamma: float):
    """y = r + gamma * (1 - terminated) * bootstrap (terminated broadcast over trailing axes).

    Args:
        reward, bootstrap: f32[T, K, ...]; terminated: bool[T, K].
    """
    shape = terminated.shape + (1,) * (reward.ndim - terminated.ndim)
    keep = 1.0 - terminated.reshape(shape).astype(jnp.float32)
    return reward + gamma * keep * bootstrap


def team_reward(reward: jax.Array, how: str) -> jax.Array:
    """f32[T, K]: the team's reward from per-agent rewards f32[T, K, N] ("mean" or "sum")."""
    return reward.sum(axis=-1) if how == "sum" else reward.mean(axis=-1)


class TDLoss(NamedTuple):
    """The loss and what it is made of, for logging."""

    loss: jax.Array  # f32[] mean squared TD error
    q_taken: jax.Array  # f32[] mean Q of the actions taken (Q_tot for VDN/QMIX)
    target: jax.Array  # f32[] mean TD target


def squared_td(prediction: jax.Array, target: jax.Array) -> TDLoss:
    """Mean squared error with the target held fixed."""
    target = jax.lax.stop_gradient(target)
    loss = jnp.mean(jnp.square(prediction - target))
    return TDLoss(loss, prediction.mean(), target.mean())
