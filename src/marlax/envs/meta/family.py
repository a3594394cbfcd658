"""Task families: environments whose episodes belong to a task drawn from a distribution.

    task = env.sample_task(key)              # a pytree of arrays (a goal, a speed, arm means)
    obs, state = env.reset_to_task(key, task)
    env.task_of(state)                       # the task is carried in the state
    obs, state = env.reset(key)              # = reset_to_task(k2, sample_task(k1))

A family is an ordinary `Env`: PPO on it trains a multi-task policy (auto-reset draws a new
task every episode). Meta-learners keep the task fixed instead: MAML rolls out several
episodes of one task with `reset_to_task`, and `TrialEnv` (RL²) resets inner episodes to the
trial's task. Held-out tasks are fresh draws from a key stream that training never uses; a
distribution *shift* is a change of the family's settings (e.g. a wider target range).

`reveal_task = True` appends the task to every agent's observation, as `task_features(task)`
seen from that agent (spread_family puts the agent's own speed first): the task-conditioned
"oracle" that meta-learning is compared with.
"""

from __future__ import annotations

import abc
from typing import Any

import jax

from marlax.envs.base import Env


class TaskFamily(Env):
    """An `Env` with a task distribution. Subclasses are frozen dataclasses with a
    `reveal_task: bool = False` setting and a State that has a `task` field."""

    reveal_task: bool

    @abc.abstractmethod
    def sample_task(self, key: jax.Array) -> Any:
        """Draw one task: a pytree of fixed-shape arrays (vmap over keys draws a batch)."""

    @abc.abstractmethod
    def reset_to_task(self, key: jax.Array, task: Any) -> tuple[jax.Array, Any]:
        """Start an episode of `task`. Returns obs [N, *observation_space.shape] and state."""

    @property
    @abc.abstractmethod
    def task_size(self) -> int:
        """Length F of `task_features`."""

    @abc.abstractmethod
    def task_features(self, task: Any) -> jax.Array:
        """The task as a flat vector f32[F] (what `reveal_task` shows, what a belief decodes)."""

    def task_of(self, state: Any) -> Any:
        """The task an episode state belongs to."""
        return state.task

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        """An episode of a freshly drawn task."""
        task_key, episode_key = jax.random.split(key)
        return self.reset_to_task(episode_key, self.sample_task(task_key))


def is_task_family(env: Any) -> bool:
    """Whether `env` is a task family (has `sample_task` and `reset_to_task`)."""
    return isinstance(env, TaskFamily)
