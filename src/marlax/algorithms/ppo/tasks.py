"""Several environments in one batch: padding, task ids and per-task stepping.

Each task is one registered env with its own number of parallel copies. The learner sees one
batch `[B_total, N_max, ...]`: tasks are concatenated on the env axis, agents are padded to the
largest team (padded agents have `agent_valid = False` and count for nothing in the loss),
actions are padded to the largest action set (padded actions are illegal), and observations are
padded to one shape with the task id appended, so the model knows which task it is playing:
a one-hot for vector observations, an extra channel holding the id for grid observations.
A single task passes through unchanged (no task id, no padding).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env
from marlax.envs.neighbours import (
    build_grid,
    candidate_offsets,
    nearest_of_candidates,
    query_candidates,
    team_neighbours,
)
from marlax.envs.spaces import Box, Discrete, Space
from marlax.envs.wrappers import LogWrapper, VectorEnv


def _is_grid(space: Space) -> bool:
    return isinstance(space, Box) and len(space.shape) == 3


@dataclass(frozen=True)
class Task:
    """One env of a (multi-)task run.

    Attributes:
        name: the registered env name (used in metric keys).
        env: the environment.
        num_envs: B_i parallel copies.
        num_resets: the reset pool of its `VectorEnv` (None = exact resets).
    """

    name: str
    env: Env
    num_envs: int
    num_resets: int | None = None

    @cached_property
    def vector_env(self) -> VectorEnv:
        """The B_i copies with auto-reset (built once)."""
        return VectorEnv(self.env, num_envs=self.num_envs, num_resets=self.num_resets)

    @cached_property
    def logged_env(self) -> LogWrapper:
        """`vector_env` with episode returns and lengths: what the PPO rollout steps."""
        return LogWrapper(self.vector_env)


@dataclass(frozen=True)
class TaskLayout:
    """How the tasks' observations, agents and actions are laid out in the joint batch."""

    tasks: tuple[Task, ...]

    @property
    def num_tasks(self) -> int:
        return len(self.tasks)

    @property
    def multi_task(self) -> bool:
        return self.num_tasks > 1

    @property
    def total_envs(self) -> int:
        """B_total."""
        return sum(task.num_envs for task in self.tasks)

    @property
    def max_agents(self) -> int:
        """N_max."""
        return max(task.env.num_agents for task in self.tasks)

    @property
    def env_offsets(self) -> tuple[int, ...]:
        """Where each task's envs start on the joint env axis."""
        return tuple(int(x) for x in np.cumsum([0] + [t.num_envs for t in self.tasks])[:-1])

    @cached_property
    def action_space(self) -> Space:
        """Discrete(A_max) for discrete tasks; a single continuous task keeps its Box."""
        spaces = [task.env.action_space for task in self.tasks]
        if not self.multi_task:
            return spaces[0]
        return Discrete(max(space.n for space in spaces))

    @property
    def continuous(self) -> bool:
        return not isinstance(self.action_space, Discrete)

    @cached_property
    def observation_space(self) -> Box:
        """The padded per-agent observation space the model sees."""
        spaces = [task.env.observation_space for task in self.tasks]
        if not self.multi_task:
            return spaces[0]
        high = max(max(space.high for space in spaces), self.num_tasks - 1)
        if _is_grid(spaces[0]):
            view = spaces[0].shape[:2]
            channels = max(space.shape[2] for space in spaces) + 1
            return Box(0, high, (*view, channels), spaces[0].dtype)
        features = max(space.shape[0] for space in spaces) + self.num_tasks
        low = min(space.low for space in spaces)
        return Box(min(low, 0.0), high, (features,), "float32")

    @property
    def agent_valid(self) -> jax.Array:
        """bool[B_total, N_max]: real agents (not padding)."""
        return jnp.asarray(self._agent_valid)

    @cached_property
    def _agent_valid(self) -> np.ndarray:
        rows = [
            np.broadcast_to(
                np.arange(self.max_agents) < task.env.num_agents, (task.num_envs, self.max_agents)
            )
            for task in self.tasks
        ]
        return np.concatenate(rows, axis=0)

    def model_obs(self, task_index: int, obs: jax.Array) -> jax.Array:
        """One task's observations as the model sees them.

        Args:
            obs: [B_i, N_i, *obs_shape_i].

        Returns:
            [B_i, N_max, *padded_obs_shape] (unchanged for a single task).
        """
        if not self.multi_task:
            return obs
        target = self.observation_space
        batch, agents = obs.shape[:2]
        pad_agents = [(0, 0), (0, self.max_agents - agents)]
        if _is_grid(target):
            extra = target.shape[2] - 1 - obs.shape[-1]
            padded = jnp.pad(obs, pad_agents + [(0, 0), (0, 0), (0, extra)])
            task_id = jnp.full((*padded.shape[:-1], 1), task_index, padded.dtype)
            return jnp.concatenate([padded, task_id], axis=-1).astype(target.dtype)
        extra = target.shape[0] - self.num_tasks - obs.shape[-1]
        padded = jnp.pad(obs.astype(jnp.float32), pad_agents + [(0, extra)])
        one_hot = jax.nn.one_hot(task_index, self.num_tasks, dtype=jnp.float32)
        one_hot = jnp.broadcast_to(one_hot, (batch, self.max_agents, self.num_tasks))
        return jnp.concatenate([padded, one_hot], axis=-1)

    def legal_mask(self, task_index: int, env_state: Any) -> jax.Array | None:
        """bool[B_i, N_max, A_max] legal actions (None for continuous actions)."""
        if self.continuous:
            return None
        task = self.tasks[task_index]
        mask = jax.vmap(task.env.action_mask)(env_state)  # bool[B_i, N_i, A_i]
        if not self.multi_task:
            return mask
        agents, actions = mask.shape[1:]
        # padded agents keep action 0 legal so their (ignored) distribution stays finite
        mask = jnp.pad(mask, [(0, 0), (0, 0), (0, self.action_space.n - actions)])
        filler = jnp.zeros((mask.shape[0], self.max_agents - agents, mask.shape[2]), bool)
        return jnp.concatenate([mask, filler.at[..., 0].set(True)], axis=1)

    def env_actions(self, task_index: int, actions: jax.Array) -> jax.Array:
        """The task's own agents' actions: [B_i, N_max, ...] -> [B_i, N_i, ...]."""
        return actions[:, : self.tasks[task_index].env.num_agents]

    def pad_agents(self, task_index: int, values: jax.Array) -> jax.Array:
        """[B_i, N_i, ...] -> [B_i, N_max, ...] with zeros for padded agents."""
        agents = values.shape[1]
        pad = [(0, 0), (0, self.max_agents - agents)] + [(0, 0)] * (values.ndim - 2)
        return jnp.pad(values, pad)

    def alive(self, task_index: int, env_state: Any) -> jax.Array:
        """bool[B_i, N_max]: agents in the episode (`Env.alive`), False for padded agents."""
        alive = jax.vmap(self.tasks[task_index].env.alive)(env_state)  # bool[B_i, N_i]
        return self.pad_agents(task_index, alive)

    def team_neighbours(self, task_index: int, env_state: Any, k: int, radius: float) -> jax.Array:
        """i32[B_i, N_max, k]: each agent's k nearest live team-mates within `radius`
        (`marlax.envs.neighbours.team_neighbours` on `Env.agent_positions`), -1 in empty
        slots and for padded agents."""
        env = self.tasks[task_index].env
        spec = env.neighbour_grid(radius)

        def _one(state: Any) -> jax.Array:
            positions = env.agent_positions(state).astype(jnp.float32)
            found, _, _ = team_neighbours(
                spec, positions, env.alive(state), env.agent_teams, radius, k
            )
            return found

        found = jax.vmap(_one)(env_state)  # i32[B_i, N_i, k]
        pad = self.max_agents - found.shape[1]
        return jnp.pad(found, [(0, 0), (0, pad), (0, 0)], constant_values=-1)

    @cached_property
    def task_shape(self) -> tuple[int, int]:
        """(M_max, F_max): the most tasks and task features of any env (`Env.tasks`), traced
        once for shapes only; tasks of smaller envs are padded and marked invalid."""
        shapes = []
        for task in self.tasks:
            _, dummy_state = jax.eval_shape(task.env.reset, jax.random.key(0))
            features, _ = jax.eval_shape(task.env.tasks, dummy_state)
            shapes.append(features.shape)
        return max(shape[0] for shape in shapes), max(shape[1] for shape in shapes)

    def team_tasks(self, task_index: int, env_state: Any) -> tuple[jax.Array, jax.Array]:
        """One task's env tasks in the joint layout (what an assignment layer reads).

        Args:
            env_state: the task's batched env state [B_i].

        Returns:
            (f32[B_i, M_max, F_max] task features, zero-padded; bool[B_i, M_max] valid).
        """
        features, valid = jax.vmap(self.tasks[task_index].env.tasks)(env_state)
        num_tasks, num_features = self.task_shape
        pad_tasks = num_tasks - features.shape[1]
        features = jnp.pad(
            features.astype(jnp.float32),
            [(0, 0), (0, pad_tasks), (0, num_features - features.shape[2])],
        )
        return features, jnp.pad(valid.astype(bool), [(0, 0), (0, pad_tasks)])

    def team_task_offsets(self, task_index: int, env_state: Any) -> jax.Array:
        """f32[B_i, N_max, M_max, 2]: task minus agent positions (`Env.task_offsets`),
        zero for padded agents and tasks (they are masked out of the plan)."""
        offsets = jax.vmap(self.tasks[task_index].env.task_offsets)(env_state)
        num_tasks, _ = self.task_shape
        pad = [
            (0, 0),
            (0, self.max_agents - offsets.shape[1]),
            (0, num_tasks - offsets.shape[2]),
            (0, 0),
        ]
        return jnp.pad(offsets.astype(jnp.float32), pad)

    def team_task_neighbours(
        self, task_index: int, env_state: Any, k: int, radius: float
    ) -> tuple[jax.Array, jax.Array]:
        """Each agent's k nearest valid tasks within `radius`, and the offsets to them.

        A uniform grid over `Env.task_positions` (`Env.task_grid`: cells of side `radius`),
        queried at `Env.agent_positions`: O(N + M), nothing [N, M].

        Args:
            env_state: the task's batched env state [B_i].

        Returns:
            (i32[B_i, N_max, k] task indices, nearest first, -1 in empty slots and for padded
            agents; f32[B_i, N_max, k, 2] task minus agent positions, 0 in empty slots).
        """
        env = self.tasks[task_index].env
        spec = env.task_grid(radius, self.task_shape[0])

        def _one(state: Any) -> tuple[jax.Array, jax.Array]:
            agents = env.agent_positions(state).astype(jnp.float32)
            targets = env.task_positions(state).astype(jnp.float32)
            _, valid = env.tasks(state)
            grid = build_grid(spec, targets, valid.astype(bool))
            candidates = query_candidates(spec, grid, agents, radius)
            found = nearest_of_candidates(targets, agents, candidates, k, radius).indices
            offsets = candidate_offsets(targets, agents, found)
            return found, jnp.stack([offsets.dx, offsets.dy], axis=-1)

        found, offsets = jax.vmap(_one)(env_state)  # [B_i, N_i, k], [B_i, N_i, k, 2]
        pad = self.max_agents - found.shape[1]
        found = jnp.pad(found, [(0, 0), (0, pad), (0, 0)], constant_values=-1)
        return found, jnp.pad(offsets, [(0, 0), (0, pad), (0, 0), (0, 0)])

    def critic_size(self) -> int:
        """C = S_max (+ M): what the centralised critic reads per env step (the global state,
        then the task one-hot in multi-task runs); the agent index is not part of it (the
        critic adds a learned per-agent embedding: `marlax.algorithms.ppo.centralised`)."""
        task_ids = self.num_tasks if self.multi_task else 0
        return self._global_state_size + task_ids

    @cached_property
    def _global_state_size(self) -> int:
        """S_max: the largest flattened global state of the tasks (traced once, shapes only)."""
        sizes = []
        for task in self.tasks:
            obs_space = task.env.observation_space
            obs_shape = (task.env.num_agents, *obs_space.shape)
            dummy_obs = jax.ShapeDtypeStruct(obs_shape, obs_space.dtype)
            _, dummy_state = jax.eval_shape(task.env.reset, jax.random.key(0))
            shape = jax.eval_shape(task.env.global_state, dummy_state, dummy_obs).shape
            sizes.append(int(np.prod(shape)))
        return max(sizes)

    def critic_state(self, task_index: int, env_state: Any, obs: jax.Array) -> jax.Array:
        """One task's centralised-critic input, once per env: [global state, task one-hot].

        O(S) per env, not O(N (S + N)): every agent of the env reads this same row (the critic
        tells them apart by a learned agent embedding).

        Args:
            env_state: the task's batched env state [B_i].
            obs: [B_i, N_i, ...] its raw observations.

        Returns:
            f32[B_i, critic_size()]: the flattened global state zero-padded to S_max, then
            (multi-task only) the task one-hot f32[M].
        """
        task = self.tasks[task_index]
        global_state = jax.vmap(task.env.global_state)(env_state, obs).astype(jnp.float32)
        global_state = global_state.reshape(global_state.shape[0], -1)
        pad = self._global_state_size - global_state.shape[1]
        global_state = jnp.pad(global_state, [(0, 0), (0, pad)])
        if not self.multi_task:
            return global_state
        one_hot = jax.nn.one_hot(task_index, self.num_tasks, dtype=jnp.float32)
        one_hot = jnp.broadcast_to(one_hot, (global_state.shape[0], self.num_tasks))
        return jnp.concatenate([global_state, one_hot], axis=-1)
