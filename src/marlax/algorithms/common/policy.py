"""The policy protocol every learner's trained policy implements, for watching and recording.

Two kinds of policy:
    `Policy`: a plain function `policy(key, obs, state) -> actions`, static under jit.
    `MemoryPolicy`: a pytree (its parameters are leaves, its settings static) with
        `initial_memory()` and `act(key, obs, state, memory, reset) -> (actions, memory)`,
        passed to jitted code as an argument. A trained PPO actor is one
        (`marlax.algorithms.ppo.policy.TrainedPolicy`); `StatelessPolicy` wraps a `Policy`.

`marlax.play` plays any `MemoryPolicy` (scanned rollouts, videos, the pygame window), so a
new learner gets `marlax enjoy`-style watching by implementing this protocol; it needs no
import of `marlax.play` or `marlax.cli`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax
from flax import struct

Policy = Callable[[jax.Array, jax.Array, Any], jax.Array]
"""`policy(key, obs, state) -> actions`: obs [N, ...] -> i32[N] or f32[N, A]."""


@runtime_checkable
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


@runtime_checkable
class ScoredPolicy(MemoryPolicy, Protocol):
    """A `MemoryPolicy` that can say how much it wants each action, so that several can be
    combined into one (`marlax.algorithms.ensemble`). Every learner's trained policy is one."""

    def action_scores(
        self, obs: jax.Array, state: Any, memory: Any, reset: jax.Array
    ) -> tuple[jax.Array, Any]:
        """What the policy would play, before choosing: f32[N, A] and the memory after the step.

        Discrete actions: log-probabilities of the legal-masked action distribution (illegal
        actions about -1e9; a greedy learner puts 0 on its choice and -1e9 elsewhere).
        Continuous actions: the action it plays in the env's box (no exploration noise).
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
