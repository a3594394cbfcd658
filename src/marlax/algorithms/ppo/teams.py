"""The team axis: what a team-coupled policy reads per step, and its learning layout.

A model with `model.coordination` mixes the agents of one env (a team), so PPO keeps the
agent axis N visible from the env to the loss:

- acting: the actor runs on [B, N, ...] as always, and also reads `TeamInputs` per step:
  `agent_mask` bool[B, N] (real agents: `TaskLayout.agent_valid`, and `Env.alive`) and, for an
  assignment, the env's tasks f32[B, M, F] with their valid mask (`TaskLayout.team_tasks`);
  for a consensus over neighbourhoods, each agent's k nearest live team-mates i32[B, N, k]
  (`TaskLayout.team_neighbours`, a uniform grid on `Env.agent_positions`: O(N)); for an
  assignment with a distance prior or relative targets, the agent-to-task offsets
  f32[B, N, M, 2] (`TaskLayout.team_task_offsets`); for an assignment over each agent's k
  nearest tasks, their indices i32[B, N, k] and the offsets to them f32[B, N, k, 2]
  instead (`TaskLayout.team_task_neighbours`, a uniform grid on `Env.task_positions`: O(N)).
  The rollout stores them in `TeamTransition.team`, so the loss replays exactly what was
  seen.
- learning (`team_batch`): K = B team sequences [T, K, N, ...] for recurrent models (their
  memories [K, N, ...]), or K = T * B team-steps [1, K, N, ...] for feed-forward ones; the
  minibatches (`learn._minibatches`) shuffle and split axis 1, whole teams, never agents.
  An agent's weight in every loss term is its `agent_mask`.

Uncoupled models keep the flat layout of `learn.make_batch` (K = B * N agent sequences).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.models.coordinated import TeamInputs


def team_inputs(
    layout: TaskLayout,
    env_states: Sequence[Any],
    with_tasks: bool,
    neighbourhood: tuple[int, float] | None = None,
    with_offsets: bool = False,
    task_neighbourhood: tuple[int, float] | None = None,
) -> TeamInputs:
    """The team inputs of one step, concatenated over tasks.

    Args:
        env_states: per task, its batched env state [B_i].
        with_tasks: read the envs' tasks (an assignment layer needs them).
        neighbourhood: (k, radius) to find each agent's k nearest team-mates (a consensus
            over neighbourhoods), or None.
        with_offsets: read the agent-to-task offsets (an assignment's distance prior or
            relative targets).
        task_neighbourhood: (k, radius) to find each agent's k nearest tasks (an
            assignment over nearest tasks), or None.

    Returns:
        TeamInputs: agent_mask bool[B, N] (valid and alive); tasks f32[B, M, F] and
        task_mask bool[B, M] when `with_tasks`; neighbours i32[B, N, k] with a
        `neighbourhood`; task_offsets f32[B, N, M, 2] when `with_offsets`
        (f32[B, N, k, 2] with a `task_neighbourhood`); task_neighbours i32[B, N, k] with
        a `task_neighbourhood`; None where not asked.
    """
    valid = layout.agent_valid
    alive = jnp.concatenate([layout.alive(i, state) for i, state in enumerate(env_states)])
    tasks = task_mask = neighbours = offsets = task_neighbours = None
    if with_tasks:
        pairs = [layout.team_tasks(i, state) for i, state in enumerate(env_states)]
        tasks = jnp.concatenate([features for features, _ in pairs], axis=0)
        task_mask = jnp.concatenate([mask for _, mask in pairs], axis=0)
    if neighbourhood is not None:
        found = [
            layout.team_neighbours(i, state, *neighbourhood) for i, state in enumerate(env_states)
        ]
        neighbours = jnp.concatenate(found, axis=0)
    if task_neighbourhood is not None:
        found = [
            layout.team_task_neighbours(i, state, *task_neighbourhood)
            for i, state in enumerate(env_states)
        ]
        task_neighbours = jnp.concatenate([indices for indices, _ in found], axis=0)
        if with_offsets:  # to the candidates only: [B, N, k, 2], never [B, N, M, 2]
            offsets = jnp.concatenate([to_tasks for _, to_tasks in found], axis=0)
    elif with_offsets:
        parts = [layout.team_task_offsets(i, state) for i, state in enumerate(env_states)]
        offsets = jnp.concatenate(parts, axis=0)
    return TeamInputs(valid & alive, tasks, task_mask, neighbours, offsets, task_neighbours)


def placeholder_team(
    layout: TaskLayout,
    batch: tuple[int, ...],
    with_tasks: bool,
    neighbourhood: tuple[int, float] | None = None,
    with_offsets: bool = False,
    task_neighbourhood: tuple[int, float] | None = None,
) -> TeamInputs:
    """All-active team inputs of the right shapes for `batch` = (*teams, N) (for `init`)."""
    tasks = task_mask = neighbours = offsets = task_neighbours = None
    if with_tasks:
        num_tasks, num_features = layout.task_shape
        tasks = jnp.zeros((*batch[:-1], num_tasks, num_features), jnp.float32)
        task_mask = jnp.ones((*batch[:-1], num_tasks), bool)
    if neighbourhood is not None:
        neighbours = jnp.full((*batch, neighbourhood[0]), -1, jnp.int32)
    if task_neighbourhood is not None:
        task_neighbours = jnp.full((*batch, task_neighbourhood[0]), -1, jnp.int32)
    if with_offsets:
        width = layout.task_shape[0] if task_neighbourhood is None else task_neighbourhood[0]
        offsets = jnp.zeros((*batch, width, 2), jnp.float32)
    return TeamInputs(jnp.ones(batch, bool), tasks, task_mask, neighbours, offsets, task_neighbours)


def team_weight(agent_valid: jax.Array, team: TeamInputs | None, shape: tuple) -> jax.Array:
    """f32[T, B, N] loss weight: 1 for agents that took part in the step, 0 otherwise.

    Args:
        agent_valid: bool[B, N] or bool[T, B, N]; team: the rollout's `TeamTransition.team`
            (leaves [T, B, ...]), or None when none was recorded.
    """
    active = jnp.broadcast_to(agent_valid, shape)
    if team is not None:
        active = active & team.agent_mask
    return active.astype(jnp.float32)


def team_layout(batch: Any, feed_forward: bool) -> Any:
    """Time-major leaves [T, B, N, ...] -> [T, K=B, N, ...], or [1, K=T*B, N, ...] (mlp)."""
    if not feed_forward:
        return batch
    return jax.tree.map(lambda x: x.reshape(1, x.shape[0] * x.shape[1], *x.shape[2:]), batch)
