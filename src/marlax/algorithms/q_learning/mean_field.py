"""Mean-field Q-learning's extra input: the mean action of an agent's neighbours.

MF-Q (Yang et al. 2018) approximates Q_j(s, a) by Q_j(s, a_j, mean action of j's neighbours),
which keeps the input size fixed however many agents there are. Here, as in the MAgent
implementations, the mean is of the neighbours' actions at the previous step (one-hot
averaged), and the neighbours are the whole team without the agent itself: no marlax env
defines neighbourhoods yet. At an episode's first step there is no previous action and the
mean is zero.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def neighbour_mean_action(
    previous: jax.Array, num_actions: int, episode_start: jax.Array
) -> jax.Array:
    """Each agent's neighbours' mean previous action.

    Args:
        previous: i32[*batch, N] every agent's action at the previous step.
        num_actions: A.
        episode_start: bool[*batch], True where this step starts an episode.

    Returns:
        f32[*batch, N, A]: for agent i, the mean over j != i of one_hot(previous[j]); zeros
        at an episode's start (and for a team of one).
    """
    one_hot = jax.nn.one_hot(previous, num_actions, dtype=jnp.float32)
    num_agents = previous.shape[-1]
    others = one_hot.sum(axis=-2, keepdims=True) - one_hot
    mean = others / max(num_agents - 1, 1)
    keep = ~episode_start.reshape(*episode_start.shape, 1, 1)
    return jnp.where(keep, mean, 0.0)


def chunk_previous_actions(actions: jax.Array, done: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The previous actions at each of a chunk's T + 1 observations, time-major.

    Args:
        actions: i32[T, K, N] the actions taken; done: bool[T, K] episode ends.

    Returns:
        (previous i32[T + 1, K, N], episode_start bool[T + 1, K]): observation 0 and every
        observation after a done start an episode; the final observation (index T) continues
        the chunk's last episode, as the network's memory does.
    """
    previous = jnp.concatenate([jnp.zeros_like(actions[:1]), actions])
    first = jnp.ones_like(done[:1])
    last = jnp.zeros_like(done[:1])
    return previous, jnp.concatenate([first, done[:-1], last])
