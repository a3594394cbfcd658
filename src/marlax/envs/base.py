"""The one environment API that every marlax environment speaks.

    obs, state = env.reset(key)
    obs, state, reward, done, info = env.step(key, state, actions)

Agents are stacked on axis 0: `obs` is `[N, ...]`, `actions` `i32[N]` (discrete)
or `f32[N, A]` (continuous), `reward` `f32[N]`, `done` `bool[]`. `info` always
holds `terminated` and `truncated` (both `bool[]`).

An environment is a frozen, hashable dataclass of *static* settings (the ones
that fix shapes); subclasses validate them in `__post_init__` by raising
`ConfigError`, so a bad setting fails at construction and never inside jit.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.neighbours import DEFAULT_CELL_CAPACITY, GridSpec
from marlax.envs.spaces import Discrete, Space
from marlax.errors import ConfigError

Info = dict[str, jax.Array]
StepResult = tuple[jax.Array, Any, jax.Array, jax.Array, Info]


class Env(abc.ABC):
    """Base class of every marlax environment.

    Subclasses are `@dataclass(frozen=True)` and implement `reset`, `_step`,
    `render` and the space properties. Their `State` is a `flax.struct.dataclass`
    that carries `step: i32[]` (steps taken in this episode); `step` truncates
    the episode once `state.step >= self.max_steps`.
    """

    name: ClassVar[str] = ""
    max_steps: int

    # ---- the API -----------------------------------------------------------------
    @property
    @abc.abstractmethod
    def num_agents(self) -> int:
        """Number of agents N (the size of axis 0 of obs, actions and reward)."""

    @property
    @abc.abstractmethod
    def observation_space(self) -> Space:
        """Space of one agent's observation."""

    @property
    @abc.abstractmethod
    def action_space(self) -> Space:
        """Space of one agent's action."""

    @abc.abstractmethod
    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        """Start an episode.

        Returns:
            obs: [N, *observation_space.shape]; state: the env's State pytree.
        """

    @abc.abstractmethod
    def _step(
        self, key: jax.Array, state: Any, actions: jax.Array
    ) -> tuple[jax.Array, Any, jax.Array, jax.Array, Info]:
        """Advance one step; the state's `step` counter must be incremented here.

        Returns:
            obs [N, ...], new state, reward f32[N], terminated bool[], extra info.
        """

    @abc.abstractmethod
    def render(self, state: Any) -> jax.Array:
        """Picture of the state: u8[H, W, 3] with H and W multiples of 16."""

    def step(self, key: jax.Array, state: Any, actions: jax.Array) -> StepResult:
        """Advance one step of the episode.

        Args:
            key: PRNG key for this step's randomness.
            state: the env's State.
            actions: i32[N] (discrete) or f32[N, A] (continuous).

        Returns:
            obs [N, ...], state, reward f32[N], done bool[], info with
            `terminated` and `truncated` (bool[]) and any env-specific entries.
        """
        obs, state, reward, terminated, extra = self._step(key, state, actions)
        terminated = jnp.asarray(terminated, dtype=bool)
        truncated = (state.step >= self.max_steps) & ~terminated
        info = {**extra, "terminated": terminated, "truncated": truncated}
        return obs, state, reward.astype(jnp.float32), terminated | truncated, info

    def action_mask(self, state: Any) -> jax.Array:
        """Legal actions, bool[N, num_actions] (True = legal). All legal by default."""
        del state
        space = self.action_space
        if not isinstance(space, Discrete):
            raise TypeError(f"{type(self).__name__} has continuous actions: no action mask")
        return jnp.ones((self.num_agents, space.n), dtype=bool)

    def global_state(self, state: Any, obs: jax.Array) -> jax.Array:
        """What a centralised critic sees: f32[S]. Default: all agents' observations."""
        del state
        return obs.reshape(-1).astype(jnp.float32)

    # ---- many-agent worlds (coverage, battle): what policies and wrappers may read ----
    def alive(self, state: Any) -> jax.Array:
        """Agents still in the episode, bool[N]. Default: every agent, always.

        Envs where agents die (battle) keep a dead agent's slot: its observation is zero,
        its reward 0, only its no-op action legal, and `alive` False until the episode ends.
        """
        del state
        return jnp.ones((self.num_agents,), dtype=bool)

    def agent_positions(self, state: Any) -> jax.Array:
        """Where each agent is, f32[N, 2] in the env's own units (neighbourhoods, mean field)."""
        del state
        name = self.name or type(self).__name__
        raise ConfigError("env", name, "an env with agent positions (coverage, battle)")

    @property
    def arena(self) -> tuple[float, float]:
        """(low, high): every `agent_positions` lies in the square `[low, high]^2`."""
        name = self.name or type(self).__name__
        raise ConfigError("env", name, "an env with agent positions (coverage, battle)")

    @property
    def agent_teams(self) -> np.ndarray:
        """Team of each agent, i32[N] (static). Default: one team, all zeros."""
        return np.zeros((self.num_agents,), np.int32)

    def max_agents_in_square(self, side: float) -> int | None:
        """Most live agents that can stand in one square of this side at once, or None
        when nothing bounds it (agents in continuous space may overlap). Neighbour grids
        sized from it drop nobody."""
        del side
        return None

    def neighbour_grid(self, radius: float, cell_capacity: int | None = None) -> GridSpec:
        """The uniform grid over `arena` for neighbour searches within `radius`: cells of side
        `radius`, each keeping `cell_capacity`, else `max_agents_in_square(radius)` (exact),
        else 16 agents; never more than N."""
        low, high = self.arena
        bound = self.max_agents_in_square(radius)
        capacity = cell_capacity or bound or DEFAULT_CELL_CAPACITY
        return GridSpec(low, high, radius, min(capacity, self.num_agents))

    def task_offsets(self, state: Any) -> jax.Array:
        """Where each task lies from each agent, f32[N, M, 2] = task - agent in the env's
        units: an assignment's geometric prior (squared length) and each agent's assigned
        target in its own frame. O(N M), like the assignment that reads it."""
        del state
        name = self.name or type(self).__name__
        raise ConfigError("env", name, "an env with task positions (coverage)")

    def task_positions(self, state: Any) -> jax.Array:
        """Where each task is, f32[M, 2] in the env's units (inside `arena`): an assignment
        over each agent's nearest tasks searches them with a uniform grid (`task_grid`)."""
        del state
        name = self.name or type(self).__name__
        raise ConfigError("env", name, "an env with task positions (coverage)")

    def max_tasks_in_square(self, side: float) -> int | None:
        """Most tasks that can lie in one square of this side, or None when nothing bounds
        it. Task grids sized from it drop no task."""
        del side
        return None

    def task_grid(self, radius: float, num_tasks: int) -> GridSpec:
        """The uniform grid over `arena` for task searches within `radius`: cells of side
        `radius`, each keeping `max_tasks_in_square(radius)` (exact), else 16 tasks; never
        more than `num_tasks`."""
        low, high = self.arena
        capacity = self.max_tasks_in_square(radius) or DEFAULT_CELL_CAPACITY
        return GridSpec(low, high, radius, max(1, min(capacity, num_tasks)))

    def tasks(self, state: Any) -> tuple[jax.Array, jax.Array]:
        """The team's tasks an assignment layer assigns agents to: (f32[M, F], valid bool[M])."""
        del state
        name = self.name or type(self).__name__
        raise ConfigError("env", name, "an env that exposes tasks (coverage, simple_spread)")
