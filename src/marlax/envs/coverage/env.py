"""Coverage: N agents spread over M targets in a 2-D arena, O(N) per step up to 10,000 agents."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env, Info
from marlax.envs.coverage import dynamics, rules
from marlax.envs.coverage.constants import (
    AGENT_FEATURES,
    COLLISION_DISTANCE,
    CONTACT_RANGE,
    MAX_ENTITIES,
    NUM_MOVES,
    REWARDS,
    SPAWN_SPACING,
    TARGET_FEATURES,
    TARGET_MARGIN,
)
from marlax.envs.coverage.generator import LatticeSpec, generate_layout, lattice_cells_per_side
from marlax.envs.coverage.observe import observe
from marlax.envs.coverage.render import render_state
from marlax.envs.coverage.types import State
from marlax.envs.neighbours import GridSpec, build_grid, dropped_points, query_candidates
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import (
    require,
    require_choice,
    require_int,
    require_non_negative,
    require_positive,
    require_positive_int,
)


@dataclass(frozen=True)
class Coverage(Env):
    """N agents must cover M targets (some needing several agents) without colliding.

    **Arena.** The square `[-h, h]^2` with side `2h = sqrt(area_per_agent * N)`, so the
    agent density is `1 / area_per_agent` at every N (the default 4/3 puts 3 agents in
    simple_spread's `[-1, 1]^2`). Walls keep agents inside. Targets sit one per cell of a
    G x G lattice of side >= `target_spacing` (distinct cells, a uniform spot in the
    inner 90% of the cell), agents one per cell of a lattice of side >= 0.5, placed so
    that no two start in collision; target capacities are uniform in
    `min_capacity..max_capacity`, drawn at reset.

    **Physics.** simple_spread's point masses (`dynamics.py`): force 5 per unit action,
    damping 0.25, dt 0.1, agent radius 0.15, mpe2's soft contact force between agents
    (from the neighbour grid, evaluated at the positions after the move), plus walls.

    - **obs** `f32[N, 4 + 5 k_targets + 3 k_agents]` (`observe.py`): own velocity (2), own
      position / h (2); the `k_targets` nearest targets within `view_radius`, nearest first
      (relative x, y, capacity, covered, present); the `k_agents` nearest other agents
      within `view_radius` (relative x, y, present). Empty slots are zero. Neighbours come
      from a uniform grid (`marlax.envs.neighbours`): O(N) work, no N x N array.
    - **actions** `i32[N]` in `Discrete(5)`: no-op, left, right, down, up.
    - **reward** `f32[N]`, with `reward = "team"` (default) the same team reward for every
      agent: `G = covered targets / M - collision_penalty * colliding pairs / N`. A target
      is covered when at least `capacity` agents are within `cover_radius` of it; it counts
      once however many agents are on it. A pair of agents closer than 0.3 (two radii)
      counts once per step, however many agents collide. With `reward = "difference"` each
      agent gets `G - G(without it)` = `needed / M - collision_penalty * its collisions / N`
      (`needed`: covered targets that lose their cover without it; `rules.difference_reward`):
      one agent's signal no longer drowns in the other N - 1 agents' noise, which a shared
      team reward's credit assignment does at N in the hundreds. The agents' rewards then no
      longer sum to N G; `info["team_reward"]` always holds G.
    - **termination** never; truncated after `max_steps`.
    - **info** `covered_fraction` f32[], `colliding_pairs` f32[], `team_reward` f32[] (G),
      `dropped_agents` i32[] (agents left out of an over-full grid cell: unseen by the
      others, no contact forces or collisions with them; target counts stay exact, as
      targets never overflow).
    - **state** `State`: agent_pos f32[N, 2], agent_vel f32[N, 2], target_pos f32[M, 2],
      target_capacity i32[M], covered bool[M], step i32[].

    **Compared with simple_spread.** `num_agents = num_targets = 3, k_agents = 2,
    k_targets = 3, view_radius = 3, max_steps = 25` is the same task in the same
    `[-1, 1]^2` with the same agents, moves and contact physics, every entity in view.
    It differs in: the reward, the covered fraction (targets with an agent within 0.25),
    not minus the summed nearest-agent distances, so it is sparse; collisions, which cost
    the whole team `penalty / N` per pair instead of costing each agent involved
    `local_ratio` (0.5) per agent it touches; the observation, which lists the others nearest
    first with present/capacity/covered flags instead of in index order, scales the own
    position by h and has no (always zero) communication block; the physics, where
    contacts are computed after the move and walls bound the arena; and the start,
    where targets and agents are spread on lattices instead of uniform in the square.
    """

    name: ClassVar[str] = "coverage"

    num_agents: int = 8
    """N agents, 1..10,000."""
    num_targets: int = 8
    """M targets, 1..10,000 (may differ from N); at most the target lattice's cells."""
    k_agents: int = 3
    """Nearest other agents each agent observes, 0..N-1."""
    k_targets: int = 4
    """Nearest targets each agent observes, 1..M."""
    view_radius: float = 1.5
    """Agents and targets farther than this (world units) are not observed; > 0."""
    cover_radius: float = 0.25
    """An agent within this distance of a target counts towards covering it; > 0."""
    min_capacity: int = 1
    """Smallest target capacity (agents needed to cover it) drawn at reset; >= 1."""
    max_capacity: int = 1
    """Largest target capacity drawn at reset; min_capacity..N."""
    collision_penalty: float = 1.0
    """Team reward lost per colliding pair, divided by N; >= 0."""
    reward: str = "team"
    """"team" (G, shared) or "difference" (G - G without the agent, per agent)."""
    area_per_agent: float = 4.0 / 3.0
    """Arena area per agent: the side is sqrt(area_per_agent * N); > 0."""
    target_spacing: float = 0.5
    """Smallest side of a target lattice cell (one target per cell); > 0."""
    agents_per_cell: int = 12
    """Agents one neighbour-grid cell (side view_radius) keeps; more are `dropped_agents`."""
    max_steps: int = 50
    """Episode length."""
    render_size: int = 256
    """Side of the rendered square image in pixels; a multiple of 16."""

    def __post_init__(self) -> None:
        require_int("num_agents", self.num_agents, 1, MAX_ENTITIES)
        require_int("num_targets", self.num_targets, 1, MAX_ENTITIES)
        require_int("k_agents", self.k_agents, 0, self.num_agents - 1)
        require_int("k_targets", self.k_targets, 1, self.num_targets)
        require_positive("view_radius", self.view_radius)
        require_positive("cover_radius", self.cover_radius)
        require_int("min_capacity", self.min_capacity, 1, self.num_agents)
        require_int("max_capacity", self.max_capacity, self.min_capacity, self.num_agents)
        require_non_negative("collision_penalty", self.collision_penalty)
        require_choice("reward", self.reward, REWARDS)
        require_positive("area_per_agent", self.area_per_agent)
        require_positive("target_spacing", self.target_spacing)
        require_positive_int("agents_per_cell", self.agents_per_cell)
        require_positive_int("max_steps", self.max_steps)
        require_positive_int("render_size", self.render_size)
        require(self.render_size % 16 == 0, "render_size", self.render_size, "a multiple of 16")
        self._check_layout()

    def _check_layout(self) -> None:
        side = self.arena_side
        spawn = self.agent_lattice**2
        require(
            self.num_agents <= spawn,
            "area_per_agent",
            self.area_per_agent,
            f"an arena with room for {self.num_agents} agents ({spawn} start cells of side "
            f">= {SPAWN_SPACING:g} fit in side {side:.4g})",
        )
        targets = self.target_lattice**2
        require(
            self.num_targets <= targets,
            "num_targets",
            self.num_targets,
            f"at most {targets}, the cells of the target lattice (arena side {side:.4g} / "
            f"target_spacing {self.target_spacing:g}); lower target_spacing or raise "
            "area_per_agent",
        )

    # ---- geometry ----------------------------------------------------------------
    @property
    def arena_side(self) -> float:
        """2h = sqrt(area_per_agent * N), in world units."""
        return math.sqrt(self.area_per_agent * self.num_agents)

    @property
    def half_side(self) -> float:
        """h: the arena is `[-h, h]^2`."""
        return self.arena_side / 2.0

    @property
    def target_lattice(self) -> int:
        """Target lattice cells per side."""
        return lattice_cells_per_side(self.arena_side, self.target_spacing)

    @property
    def agent_lattice(self) -> int:
        """Start lattice cells per side."""
        return lattice_cells_per_side(self.arena_side, SPAWN_SPACING)

    @property
    def agent_grid(self) -> GridSpec:
        """Neighbour grid of agents: cells of side view_radius, `agents_per_cell` each."""
        capacity = min(self.agents_per_cell, self.num_agents)
        return GridSpec(-self.half_side, self.half_side, self.view_radius, capacity)

    @property
    def target_grid(self) -> GridSpec:
        """Neighbour grid of targets, aligned with the target lattice: cells of m x m lattice
        cells (m = ceil(view / lattice cell)), so a cell never holds more than m^2 targets."""
        lattice_cell = self.arena_side / self.target_lattice
        reach = max(self.view_radius, self.cover_radius)
        cells = max(1, math.ceil(reach / lattice_cell - 1e-9))
        capacity = min(cells * cells, self.num_targets)
        return GridSpec(-self.half_side, self.half_side, cells * lattice_cell, capacity)

    # ---- spaces ------------------------------------------------------------------
    @property
    def obs_dim(self) -> int:
        """D = 4 + 5 k_targets + 3 k_agents."""
        return 4 + TARGET_FEATURES * self.k_targets + AGENT_FEATURES * self.k_agents

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, (self.obs_dim,), "float32")

    @property
    def action_space(self) -> Space:
        return Discrete(NUM_MOVES)

    # ---- API ---------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, State]:
        """Targets and agents on their lattices, agents at rest, capacities drawn.

        Returns:
            obs f32[N, D]; State.
        """
        spawn_cell = self.arena_side / self.agent_lattice
        layout = generate_layout(
            key,
            LatticeSpec(
                self.num_agents,
                self.agent_lattice,
                inner=(spawn_cell - COLLISION_DISTANCE) / spawn_cell,
            ),
            LatticeSpec(self.num_targets, self.target_lattice, inner=1.0 - 2.0 * TARGET_MARGIN),
            self.half_side,
            (self.min_capacity, self.max_capacity),
        )
        return self._observe_new(self._bare_state(*layout))

    def make_state(
        self,
        agent_pos: jax.Array,
        target_pos: jax.Array,
        target_capacity: jax.Array | None = None,
        agent_vel: jax.Array | None = None,
        step: int | jax.Array = 0,
    ) -> State:
        """A State from positions (hand-made layouts, tests), with `covered` filled in.

        Args:
            agent_pos: f32[N, 2]; target_pos: f32[M, 2]; target_capacity: i32[M] (default 1);
            agent_vel: f32[N, 2] (default 0); step: steps already taken.
        """
        return self._observe_new(
            self._bare_state(agent_pos, target_pos, target_capacity, agent_vel, step)
        )[1]

    def _bare_state(
        self,
        agent_pos: jax.Array,
        target_pos: jax.Array,
        target_capacity: jax.Array | None = None,
        agent_vel: jax.Array | None = None,
        step: int | jax.Array = 0,
    ) -> State:
        """A State with `covered` still all False (see `make_state`)."""
        agent_pos = jnp.asarray(agent_pos, jnp.float32)
        if target_capacity is None:
            target_capacity = jnp.ones((self.num_targets,), jnp.int32)
        if agent_vel is None:
            agent_vel = jnp.zeros_like(agent_pos)
        return State(
            agent_pos=agent_pos,
            agent_vel=jnp.asarray(agent_vel, jnp.float32),
            target_pos=jnp.asarray(target_pos, jnp.float32),
            target_capacity=jnp.asarray(target_capacity, jnp.int32),
            covered=jnp.zeros((self.num_targets,), bool),
            step=jnp.asarray(step, jnp.int32),
        )

    def _observe_new(self, state: State) -> tuple[jax.Array, State]:
        """Fill in `covered` and observe, building each neighbour grid once."""
        spec = self.agent_grid
        agent_candidates = query_candidates(
            spec, build_grid(spec, state.agent_pos), state.agent_pos, self._agent_reach
        )
        target_candidates = self._target_candidates(state)
        covered = self._covered(state, target_candidates)[0]
        state = state.replace(covered=covered)
        return self._observe(state, agent_candidates, target_candidates), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Move every agent (`dynamics.py`), then score and observe the new positions.

        Args:
            key: unused (the dynamics are deterministic).
            state: State.
            actions: i32[N].
        """
        del key
        spec = self.agent_grid
        agent_pos, wall = dynamics.move(state.agent_pos, state.agent_vel, self.half_side)
        grid = build_grid(spec, agent_pos)
        agent_candidates = query_candidates(spec, grid, agent_pos, self._agent_reach)
        force = dynamics.action_force(actions) + dynamics.contact_forces(
            agent_pos, agent_candidates
        )
        agent_vel = dynamics.accelerate(state.agent_vel, force, wall)
        state = state.replace(agent_pos=agent_pos, agent_vel=agent_vel, step=state.step + 1)
        target_candidates = self._target_candidates(state)
        covered, near = self._covered(state, target_candidates)
        collisions = rules.collisions_per_agent(state.agent_pos, agent_candidates)
        pairs = rules.colliding_pairs(collisions)
        state = state.replace(covered=covered)
        team = rules.team_reward(covered, pairs, self.collision_penalty, self.num_agents)
        if self.reward == "difference":
            needed = rules.needed_covers(
                state.agent_pos,
                state.target_pos,
                target_candidates,
                self.cover_radius,
                near,
                state.target_capacity,
            )
            reward = rules.difference_reward(
                needed, collisions, self.collision_penalty, self.num_agents, self.num_targets
            )
        else:
            reward = jnp.full((self.num_agents,), team)
        info = {
            "covered_fraction": jnp.mean(covered.astype(jnp.float32)),
            "colliding_pairs": pairs,
            "dropped_agents": dropped_points(spec, grid),
            "team_reward": team,
        }
        obs = self._observe(state, agent_candidates, target_candidates)
        return obs, state, reward, jnp.zeros((), bool), info

    @property
    def _agent_reach(self) -> float:
        """Radius of the one agent-grid query per step: view, collisions and contacts."""
        return max(self.view_radius, COLLISION_DISTANCE, CONTACT_RANGE)

    def _target_candidates(self, state: State) -> jax.Array:
        """i32[N, Kt] targets in the grid cells around each agent (view and cover radius)."""
        spec = self.target_grid
        reach = max(self.view_radius, self.cover_radius)
        return query_candidates(spec, build_grid(spec, state.target_pos), state.agent_pos, reach)

    def _covered(self, state: State, target_candidates: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(covered bool[M], agents within cover radius of each target i32[M])."""
        near = rules.agents_near_targets(
            state.agent_pos, state.target_pos, target_candidates, self.cover_radius
        )
        return near >= state.target_capacity, near

    def observe(self, state: State) -> jax.Array:
        """Every agent's observation: f32[N, D] (see the class docstring for the layout)."""
        spec = self.agent_grid
        agent_candidates = query_candidates(
            spec, build_grid(spec, state.agent_pos), state.agent_pos, self._agent_reach
        )
        return self._observe(state, agent_candidates, self._target_candidates(state))

    def _observe(
        self, state: State, agent_candidates: jax.Array, target_candidates: jax.Array
    ) -> jax.Array:
        return observe(
            state.agent_pos,
            state.agent_vel,
            state.target_pos,
            state.target_capacity,
            state.covered,
            agent_candidates,
            target_candidates,
            half_side=self.half_side,
            view_radius=self.view_radius,
            k_agents=self.k_agents,
            k_targets=self.k_targets,
        )

    # ---- what policies and wrappers read -----------------------------------------
    @property
    def arena(self) -> tuple[float, float]:
        """(-h, h): walls keep agents inside `[-h, h]^2`."""
        return -self.half_side, self.half_side

    def agent_positions(self, state: State) -> jax.Array:
        """f32[N, 2] agent positions in world units (the arena is `[-h, h]^2`)."""
        return state.agent_pos

    def tasks(self, state: State) -> tuple[jax.Array, jax.Array]:
        """The targets as tasks: (f32[M, 4] = x / h, y / h, capacity, covered; valid bool[M])."""
        features = jnp.concatenate(
            [
                state.target_pos / self.half_side,
                state.target_capacity.astype(jnp.float32)[:, None],
                state.covered.astype(jnp.float32)[:, None],
            ],
            axis=1,
        )
        return features, jnp.ones((self.num_targets,), bool)

    def task_offsets(self, state: State) -> jax.Array:
        """f32[N, M, 2]: target minus agent position, world units."""
        return state.target_pos[None, :, :] - state.agent_pos[:, None, :]

    def task_positions(self, state: State) -> jax.Array:
        """f32[M, 2]: target positions, world units."""
        return state.target_pos

    def max_tasks_in_square(self, side: float) -> int:
        """Targets sit on distinct target-lattice cells (one each): a square of this side
        overlaps at most (ceil(side / cell) + 1)^2 of them."""
        lattice_cell = self.arena_side / self.target_lattice
        per_side = math.ceil(side / lattice_cell - 1e-9) + 1
        return min(per_side * per_side, self.num_targets)

    def global_state(self, state: State, obs: jax.Array) -> jax.Array:
        """f32[4N + 4M], O(N + M): agent positions / h (2N), agent velocities (2N), then the
        task features of `tasks` (4M). Not the concatenated observations (N x D)."""
        del obs
        features, _ = self.tasks(state)
        return jnp.concatenate(
            [
                (state.agent_pos / self.half_side).reshape(-1),
                state.agent_vel.reshape(-1),
                features.reshape(-1),
            ]
        ).astype(jnp.float32)

    def render(self, state: State) -> jax.Array:
        """Target cover discs (red, green when covered) and agents (blue): u8[S, S, 3]."""
        return render_state(state, self.render_size, self.half_side, self.cover_radius)
