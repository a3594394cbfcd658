"""The containers PPO carries between steps and updates (leading axes in the comments).

Per-seed shapes; the trainer adds a leading seed axis S to every leaf of `TrainState`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
from flax import struct

from marlax.envs.wrappers import LogState


@struct.dataclass
class TaskRunner:
    """The running episodes of one task."""

    log_state: LogState  # [B_i] env state and running episode returns/lengths (LogWrapper)
    obs: jax.Array  # [B_i, N_i, *obs_shape_i] current observations

    @property
    def env_state(self) -> Any:
        """[B_i] the batched env state itself."""
        return self.log_state.env_state


@struct.dataclass
class RunnerState:
    """Everything a rollout continues from."""

    tasks: tuple[TaskRunner, ...]
    reset: jax.Array  # bool[B_total] the next step starts an episode
    actor_carry: Any  # [B_total, N_max, ...] actor memory
    critic_carry: Any  # [B_total, N_max, ...] critic memory, () for IPPO


@struct.dataclass
class TrainState:
    """One seed's learner: parameters, optimiser, episodes in flight and its key."""

    params: Any  # {"actor": ..., "critic": ...}
    opt_state: Any
    runner: RunnerState
    key: jax.Array  # key[]
    update: jax.Array  # i32[] updates done


@struct.dataclass
class Transition:
    """One rollout step of the joint batch: every field leads with [B_total, N_max], except
    `critic_state`, stored once per env (no agent axis: O(N), not O(N^2), for a global state
    that grows with N)."""

    model_obs: jax.Array  # [B, N, *model_obs_shape] what the actor saw
    # f32[B, C] what the centralised critic saw (global state, task one-hot:
    # `TaskLayout.critic_state`), or f32[B, 0] without a centralised critic
    critic_state: jax.Array
    reset: jax.Array  # bool[B, N] this step started an episode
    action: jax.Array  # i32[B, N] or f32[B, N, A]
    log_prob: jax.Array  # f32[B, N]
    value: jax.Array  # f32[B, N]
    reward: jax.Array  # f32[B, N] (0 for padded agents)
    done: jax.Array  # bool[B, N] the episode ended at this step
    terminated: jax.Array  # bool[B, N] ... in a terminal state (no bootstrap)
    final_value: jax.Array  # f32[B, N] V(final_obs) for bootstrapping through truncation
    legal_mask: jax.Array  # bool[B, N, A] legal actions; bool[B, N, 0] for continuous actions


@struct.dataclass
class TeamTransition(Transition):
    """A `Transition` of team-coupled networks: also what their teams looked like.

    A subclass, not a field of `Transition`, so uncoupled runs keep exactly their leaves (and
    code that builds a `Transition` from its fields in order keeps working).
    """

    team: Any  # TeamInputs [B, ...]: agent mask bool[B, N], tasks f32[B, M, F] (or None)


class HyperparamOverrides(NamedTuple):
    """Traced values that replace PPO's config settings inside one seed's update (PBT).

    Plain PPO passes None and reads `PPOConfig`; population-based training passes each
    member's own values, so one compiled program serves every member.
    """

    learning_rate_scale: jax.Array  # f32[] multiplies ppo.learning_rate and its schedule
    entropy_coef: jax.Array  # f32[] weight of the entropy bonus
    clip_eps: jax.Array  # f32[] ratio clip of the surrogate loss


class TaskStep(NamedTuple):
    """What one step of one task's envs gave back (leading axis B_i)."""

    reward: jax.Array  # f32[B_i, N_max] (0 for padded agents)
    done: jax.Array  # bool[B_i]
    terminated: jax.Array  # bool[B_i]
    final_obs: jax.Array  # [B_i, N_i, ...] the observation the episode ended on
    final_state: Any  # [B_i] the env state it ended in


@struct.dataclass
class EpisodeStats:
    """Episodes that ended at one step, per env of the joint batch."""

    finished: jax.Array  # bool[B_total]
    episode_return: jax.Array  # f32[B_total] mean over the task's agents
    episode_length: jax.Array  # i32[B_total]
