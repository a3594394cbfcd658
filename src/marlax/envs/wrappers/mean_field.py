"""MeanFieldEnv: each agent also observes the mean of its neighbours' previous actions.

    env = MeanFieldEnv(make("battle", opponent="self_play"), radius=6.0)
    obs, state = env.reset(key)      # battle: u8[N, V, V, 8 + 21], the mean as extra planes
    obs, state, reward, done, info = env.step(key, state, actions)

Mean-field MARL (Yang et al. 2018, "Mean Field Multi-Agent Reinforcement Learning") lets a
policy scale to many agents by summarising the others through the mean action of its
neighbours: agent i's input gains `a_bar_i = mean_{j in N(i)} onehot(a_j)` of the actions
its neighbours took at the previous step. The wrapper adds that summary to the observation,
so every learner, critic, `enjoy`, `eval` and `serve` sees it without knowing about it.

**Neighbourhood** N(i): the *live* agents of i's own team (`env.agent_teams`), i excluded,
- `radius=None` (default): the whole team, as in the reference implementation
  (mlii/mfrl's battle, which averages the group's previous actions); O(N) segment sums;
- `radius=r`: those within distance r of i (`env.agent_positions`), optionally only the
  `k` nearest of them; found with `marlax.envs.neighbours`' uniform grid over
  `env.arena` (cells of side r): O(N), never an N x N array.
An agent with no neighbour (or at an episode's first step, when nobody has acted yet) gets a
zero vector. The mean is taken after the step, over the agents alive after it.

**Observations.** Vector observations `f32[N, D]` become `f32[N, D + A]` (mean appended).
Image observations `[N, H, W, C]` become `[N, H, W, C + A]`: the mean as A constant planes
(u8 observations carry `round(255 * mean)`, which the image encoder reads back as /255).
Integer id grids are refused (an id has no room for a fraction). `global_state` appends
every agent's mean (`f32[S + N A]`), so a centralised critic sees it too.

**Grid exactness.** The neighbour grid keeps `env.max_agents_in_square(r)` agents per cell
when the env bounds it (battle: one live agent per map cell): then no neighbour is ever
missed. Otherwise (coverage: agents may overlap) each cell keeps `cell_capacity` agents and
`info["mean_field_dropped"]` counts the agents a step left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.base import Env, Info
from marlax.envs.neighbours import GridSpec, neighbour_mean, team_neighbours
from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError
from marlax.validate import require, require_int, require_positive, require_positive_int

SETTINGS = ("radius", "k", "cell_capacity")
"""Keys of `model.mean_field` (`from_settings`)."""


@struct.dataclass
class MeanFieldState:
    """The wrapped env's state plus the mean action each agent observes.

    Attributes:
        inner: the wrapped env's State.
        mean_action: f32[N, A] the neighbours' mean previous action of each agent.
    """

    inner: Any
    mean_action: jax.Array

    @property
    def step(self) -> jax.Array:
        """i32[] steps taken in the episode (the wrapped env's counter)."""
        return self.inner.step


@dataclass(frozen=True)
class MeanFieldEnv(Env):
    """`env` whose agents also observe their neighbours' mean previous action (module doc)."""

    name: ClassVar[str] = "mean_field"

    env: Env
    radius: float | None = None
    """Neighbours within this distance (env units); None = the agent's whole team."""
    k: int | None = None
    """Only the k nearest within `radius` (1..N-1); None = all of them."""
    cell_capacity: int | None = None
    """Agents one grid cell keeps; None = `env.max_agents_in_square(radius)`, else 16."""

    def __post_init__(self) -> None:
        env_name = self.env.name or type(self.env).__name__
        if self.radius is not None:
            require_positive("mean_field.radius", self.radius)
            low, high = self.env.arena  # raises for envs without positions
            del low, high
        if self.k is not None:
            require_int("mean_field.k", self.k, 1, max(self.num_agents - 1, 1))
            require(
                self.radius is not None,
                "mean_field.k",
                self.k,
                "null without mean_field.radius (the k nearest are searched within the "
                "radius, which keeps the search O(N))",
            )
        if self.cell_capacity is not None:
            require_positive_int("mean_field.cell_capacity", self.cell_capacity)
        space = self.env.observation_space
        rank = len(space.shape) if isinstance(space, Box) else -1
        image = rank == 3 and not _is_id_grid(space)
        require(
            rank == 1 or image,
            "model.mean_field",
            f"env {env_name}",
            f"an env with vector or image observations (its {space} has no room for a mean action)",
        )
        action = self.env.action_space
        require(
            isinstance(action, Discrete) or (rank == 1 and len(action.shape) == 1),
            "model.mean_field",
            f"env {env_name}",
            "discrete actions (or continuous actions with vector observations)",
        )

    # ---- spaces and sizes ------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return self.env.num_agents

    @property
    def max_steps(self) -> int:  # type: ignore[override]
        return self.env.max_steps

    @property
    def action_size(self) -> int:
        """A: length of one mean action (actions for Discrete(A), the vector for a Box)."""
        space = self.env.action_space
        return space.n if isinstance(space, Discrete) else int(space.shape[0])

    @property
    def observation_space(self) -> Space:
        space = self.env.observation_space
        *leading, last = space.shape
        shape = (*leading, last + self.action_size)
        if len(space.shape) == 1:
            return Box(-np.inf, np.inf, shape, "float32")
        return Box(0, np.max(np.asarray(space.high)).item(), shape, space.dtype)

    @property
    def action_space(self) -> Space:
        return self.env.action_space

    @property
    def grid(self) -> GridSpec:
        """The neighbour grid: `env.arena` in cells of side `radius` (radius mode only)."""
        return self.env.neighbour_grid(self.radius, self.cell_capacity)

    # ---- the episode -------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, MeanFieldState]:
        """The env's reset; nobody has acted yet, so every mean action is zero."""
        obs, inner = self.env.reset(key)
        mean = jnp.zeros((self.num_agents, self.action_size), jnp.float32)
        state = MeanFieldState(inner=inner, mean_action=mean)
        return self._observe(obs, mean), state

    def _step(
        self, key: jax.Array, state: MeanFieldState, actions: jax.Array
    ) -> tuple[jax.Array, MeanFieldState, jax.Array, jax.Array, Info]:
        """The env's step, then the mean of the actions just taken over each agent's
        neighbours after it (the next decision's input). `Env.step` re-derives the same
        truncation from the env's step counter."""
        obs, inner, reward, _, info = self.env.step(key, state.inner, actions)
        mean, dropped = self.mean_actions(inner, actions)
        extra = {name: value for name, value in info.items() if name != "truncated"}
        terminated = extra.pop("terminated")
        extra["mean_field_dropped"] = dropped
        new_state = MeanFieldState(inner=inner, mean_action=mean)
        return self._observe(obs, mean), new_state, reward, terminated, extra

    def mean_actions(self, inner: Any, actions: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Each agent's neighbours' mean of `actions` in the wrapped env's state `inner`.

        Args:
            inner: the wrapped env's state (positions and who is alive).
            actions: i32[N] or f32[N, A] the actions just taken.

        Returns:
            (mean f32[N, A], agents the grid dropped i32[]); dead agents get zeros.
        """
        alive = self.env.alive(inner)
        vectors = self._action_vectors(actions) * alive[:, None].astype(jnp.float32)
        if self.radius is None:
            mean, dropped = _team_means(vectors, alive, self.env.agent_teams), jnp.int32(0)
        else:
            positions = self.env.agent_positions(inner).astype(jnp.float32)
            mean, dropped = self._local_means(vectors, positions, alive)
        return mean * alive[:, None].astype(jnp.float32), dropped

    def _local_means(
        self, vectors: jax.Array, positions: jax.Array, alive: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """Means over same-team live neighbours within `radius` (`team_neighbours`)."""
        indices, valid, dropped = team_neighbours(
            self.grid, positions, alive, self.env.agent_teams, self.radius, self.k
        )
        return neighbour_mean(vectors, indices, valid), dropped

    def _action_vectors(self, actions: jax.Array) -> jax.Array:
        """f32[N, A]: one-hot discrete actions, or the continuous action vectors."""
        if isinstance(self.env.action_space, Discrete):
            return jax.nn.one_hot(actions.reshape(self.num_agents), self.action_size)
        return actions.reshape(self.num_agents, self.action_size).astype(jnp.float32)

    def _observe(self, obs: jax.Array, mean: jax.Array) -> jax.Array:
        """The env's observation with each agent's mean action joined (module doc)."""
        if obs.ndim == 2:
            return jnp.concatenate([obs.astype(jnp.float32), mean], axis=-1)
        planes = mean[:, None, None, :]
        if obs.dtype == jnp.uint8:
            planes = jnp.round(planes * 255.0).astype(jnp.uint8)
        planes = jnp.broadcast_to(planes.astype(obs.dtype), (*obs.shape[:-1], self.action_size))
        return jnp.concatenate([obs, planes], axis=-1)

    # ---- everything else is the wrapped env's ------------------------------------------
    def action_mask(self, state: MeanFieldState) -> jax.Array:
        return self.env.action_mask(state.inner)

    def alive(self, state: MeanFieldState) -> jax.Array:
        return self.env.alive(state.inner)

    def agent_positions(self, state: MeanFieldState) -> jax.Array:
        return self.env.agent_positions(state.inner)

    def tasks(self, state: MeanFieldState) -> tuple[jax.Array, jax.Array]:
        return self.env.tasks(state.inner)

    def task_offsets(self, state: MeanFieldState) -> jax.Array:
        return self.env.task_offsets(state.inner)

    def task_positions(self, state: MeanFieldState) -> jax.Array:
        return self.env.task_positions(state.inner)

    def max_tasks_in_square(self, side: float) -> int | None:
        return self.env.max_tasks_in_square(side)

    @property
    def arena(self) -> tuple[float, float]:
        return self.env.arena

    @property
    def agent_teams(self) -> np.ndarray:
        return self.env.agent_teams

    def max_agents_in_square(self, side: float) -> int | None:
        return self.env.max_agents_in_square(side)

    def global_state(self, state: MeanFieldState, obs: jax.Array) -> jax.Array:
        """f32[S + N A]: the env's global state, then every agent's mean action."""
        inner_obs = obs[..., : obs.shape[-1] - self.action_size]
        inner = self.env.global_state(state.inner, inner_obs)
        return jnp.concatenate([inner, state.mean_action.reshape(-1)])

    def render(self, state: MeanFieldState) -> jax.Array:
        return self.env.render(state.inner)

    def __getattr__(self, name: str) -> Any:
        # the wrapped env's own settings and helpers (battle's agents_per_side, ...)
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)


def from_settings(env: Env, settings: Mapping[str, Any]) -> MeanFieldEnv:
    """`MeanFieldEnv(env, **settings)` for `model.mean_field`, unknown keys refused.

    Raises:
        ConfigError: on an unknown key or a bad value (field `model.mean_field.<key>`).
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    require(
        not unknown,
        "model.mean_field",
        dict(settings),
        f"keys among {', '.join(SETTINGS)} (unknown: {', '.join(unknown)})",
    )
    try:
        return MeanFieldEnv(env, **dict(settings))
    except ConfigError as error:
        field = error.field
        if field.startswith("mean_field."):
            field = f"model.{field}"
        raise ConfigError(field, error.value, error.expected) from None


def _team_means(vectors: jax.Array, alive: jax.Array, teams: np.ndarray) -> jax.Array:
    """f32[N, A]: each agent's mean over its team's other live agents (segment sums, O(N))."""
    num_teams = int(teams.max()) + 1
    team_ids = jnp.asarray(teams)
    totals = jax.ops.segment_sum(vectors, team_ids, num_segments=num_teams)  # [T, A]
    counts = jax.ops.segment_sum(alive.astype(jnp.float32), team_ids, num_segments=num_teams)
    others = totals[team_ids] - vectors  # dead agents' vectors are already zero
    count = counts[team_ids] - alive.astype(jnp.float32)
    return others / jnp.maximum(count, 1.0)[:, None]


def _is_id_grid(space: Space) -> bool:
    """An integer grid of ids (not 0..255 intensities): no room for a fraction."""
    integer = np.issubdtype(np.dtype(space.dtype), np.integer)
    intensities = np.dtype(space.dtype) == np.uint8 and np.all(np.asarray(space.high) == 255)
    return integer and not intensities


__all__ = ["SETTINGS", "MeanFieldEnv", "MeanFieldState", "from_settings"]
