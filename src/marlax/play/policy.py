"""Actions for watching an env: uniform legal actions, and one agent driven by a key press.

The policy protocol itself (`Policy`, `MemoryPolicy`, `StatelessPolicy`) lives in
`marlax.algorithms.common.policy`, where every learner implements it.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.policy import Policy
from marlax.envs.base import Env
from marlax.envs.spaces import Discrete

__all__ = [
    "RandomPolicy",
    "random_actions",
    "random_policy",
    "with_controlled_agent",
]


@struct.dataclass
class RandomPolicy:
    """The `MemoryPolicy` that plays `random_actions` for every agent (no memory).

    Not `StatelessPolicy(random_policy(env))`: that wraps a fresh closure, which hashes by
    identity, so every session would compile its step again; this one hashes by `env`.
    """

    env: Env = struct.field(pytree_node=False)

    def initial_memory(self) -> tuple:
        return ()

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: tuple, reset: jax.Array
    ) -> tuple[jax.Array, tuple]:
        del obs, reset
        return random_actions(key, self.env, state), memory


def random_actions(key: jax.Array, env: Env, state: Any) -> jax.Array:
    """Uniform legal actions for every agent: i32[N] (masked by `env.action_mask`) or f32[N, A]."""
    space = env.action_space
    if isinstance(space, Discrete):
        logits = jnp.where(env.action_mask(state), 0.0, -jnp.inf)
        return jax.random.categorical(key, logits, axis=-1).astype(space.dtype)
    return space.sample(key, (env.num_agents,))


def random_policy(env: Env) -> Policy:
    """The `Policy` that plays `random_actions` for every agent."""

    def _policy(key: jax.Array, obs: jax.Array, state: Any) -> jax.Array:
        del obs
        return random_actions(key, env, state)

    return _policy


def with_controlled_agent(
    env: Env, actions: jax.Array, agent: int, action_id: jax.Array
) -> jax.Array:
    """Replace agent `agent`'s action by the action id chosen on the keyboard.

    Discrete spaces take the id as is; a continuous space of dimension A takes the
    one-hot of the id (MPE's continuous layout: no-op, left, right, down, up).

    Args:
        actions: i32[N] or f32[N, A]; agent: static index; action_id: i32[].

    Returns:
        The same shape and dtype as `actions`.
    """
    if isinstance(env.action_space, Discrete):
        return actions.at[agent].set(action_id.astype(actions.dtype))
    dim = actions.shape[-1]
    vector = jax.nn.one_hot(action_id, dim, dtype=actions.dtype)
    return actions.at[agent].set(vector)
