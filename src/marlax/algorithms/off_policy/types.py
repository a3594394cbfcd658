"""The off-policy learners' train state (one seed) and their static set-up.

state, metrics = off_policy_update(state, setup)      # update.py
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import optax
from flax import struct

from marlax.algorithms.off_policy.networks import ActorCriticNetworks, Params
from marlax.algorithms.off_policy.replay import TransitionReplay
from marlax.config.actor_critic import OffPolicyConfig, steps_per_update
from marlax.envs.base import Env


@struct.dataclass
class OffPolicyTrainState:
    """One seed's learner: networks, targets, optimisers, replay, and the envs mid-episode."""

    params: Params  # {"actor": ..., "critic": ...}
    target_params: Params  # MADDPG {"actor", "critic"}; SAC {"critic"}
    log_alpha: jax.Array  # f32[] SAC's entropy temperature log(alpha) (MADDPG: unused, 0)
    actor_opt_state: Any
    critic_opt_state: Any
    alpha_opt_state: Any  # SAC's log(alpha) optimiser (MADDPG: never stepped)
    buffer: Any  # the replay's flashbax state
    obs: jax.Array  # f32[B, N, D] the envs' current observations
    log_state: Any  # the `LogWrapper(VectorEnv)` state: episodes run on across updates
    key: jax.Array  # key[]
    update: jax.Array  # i32[] updates done


@dataclass(frozen=True)
class OffPolicySetup:
    """Everything static an update needs (closed over by the jitted program).

    Attributes:
        algorithm: "maddpg" or "sac".
        env: the task's env; num_envs: B.
        total_env_steps: env steps of the whole run, rounded down to whole updates.
        networks, replay: the learner's networks and transition replay.
        actor_optimizer, critic_optimizer, alpha_optimizer: one optax chain each.
        off_policy: the config section.
        num_resets: `VectorEnv`'s reset pool (None = reset every env every step; speed only).
    """

    algorithm: str
    env: Env
    num_envs: int
    total_env_steps: int
    networks: ActorCriticNetworks
    replay: TransitionReplay
    actor_optimizer: optax.GradientTransformation
    critic_optimizer: optax.GradientTransformation
    alpha_optimizer: optax.GradientTransformation
    off_policy: OffPolicyConfig
    num_resets: int | None = None

    @property
    def env_steps_per_update(self) -> int:
        """T * B."""
        return steps_per_update(self.off_policy, self.num_envs)

    @property
    def num_updates(self) -> int:
        """Updates in the run."""
        return self.total_env_steps // self.env_steps_per_update

    @property
    def target_entropy(self) -> float:
        """SAC's entropy target: the configured one, or -A."""
        configured = self.off_policy.target_entropy
        return -float(self.networks.action_dim) if configured is None else configured

    @property
    def target_names(self) -> tuple[str, ...]:
        """The networks that have a target copy: MADDPG's actor and critic, SAC's critic."""
        return ("actor", "critic") if self.algorithm == "maddpg" else ("critic",)
