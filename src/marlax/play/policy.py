"""Actions for watching an env: uniform legal actions, policies with memory, and one agent
driven by a key press.

Two kinds of policy:
    `Policy`: a plain function `policy(key, obs, state) -> actions`, static under jit.
    `MemoryPolicy`: a pytree (its parameters are leaves, its settings static) with
        `initial_memory()` and `act(key, obs, state, memory, reset) -> (actions, memory)`,
        passed to jitted code as an argument; a trained network is one (`marlax.play.trained`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
from flax import struct

from marlax.envs.base import Env
from marlax.envs.spaces import Discrete

Policy = Callable[[jax.Array, jax.Array, Any], jax.Array]
"""`policy(key, obs, state) -> actions`: obs [N, ...] -> i32[N] or f32[N, A]."""


class MemoryPolicy(Protocol):
    """A policy that carries memory between steps of one env (e.g. a GRU's hidden state).

    It must be a pytree (a `flax.struct.dataclass`): arrays as leaves, settings static, so
    jitted code takes it as an argument and compiles once per kind of policy.
    """

    def initial_memory(self) -> Any:
        """The memory pytree before the first step (it is cleared again at every `reset`)."""
        ...

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """Actions for every agent of one env, and the memory after this step.

        Args:
            key: PRNG key (for sampling policies).
            obs: [N, ...] the env's observations; state: its env State.
            memory: the memory after the previous step.
            reset: bool[] True when this step starts an episode (memory is cleared first).

        Returns:
            (actions i32[N] or f32[N, A], memory).
        """
        ...


@struct.dataclass
class StatelessPolicy:
    """A `Policy` seen as a `MemoryPolicy` with no memory."""

    policy: Policy = struct.field(pytree_node=False)

    def initial_memory(self) -> tuple:
        return ()

    def act(
        self, key: jax.Array, obs: jax.Array, state: Any, memory: tuple, reset: jax.Array
    ) -> tuple[jax.Array, tuple]:
        del reset
        return self.policy(key, obs, state), memory


@struct.dataclass
class RandomPolicy:
    """The `MemoryPolicy` that plays `random_actions` for every agent (no memory)."""

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
