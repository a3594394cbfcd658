"""Traveling salesman: N agents each visit F flags on an open map, once per cycle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env, Info
from marlax.envs.grid.geometry import egocentric_views, in_bounds, move_targets, scatter_units
from marlax.envs.grid.settings import require_grid_settings
from marlax.envs.grid.tiles import NUM_ACTIONS, NUM_TILES, NUM_UNITS, Action, Tile, Unit
from marlax.envs.spaces import Box, Discrete
from marlax.envs.traveling_salesman.generator import generate_episode
from marlax.envs.traveling_salesman.render import render_state
from marlax.envs.traveling_salesman.types import TravelingSalesmanState
from marlax.validate import require, require_number, require_positive_int

_UNIT_SHIFT = 4  # a crop code packs tile (4 bits) | unit << 4, so one crop serves both channels
_TILE_MASK = (1 << _UNIT_SHIFT) - 1


@dataclass(frozen=True)
class TravelingSalesman(Env):
    """Open-map flag tour with per-agent memory (gabe00122/jaxrl `traveling_salesman.py`).

    Rules:
        - Map `[W, H]`, open (decor only, walkable); off-map moves are blocked.
        - F flags on distinct cells; agents start on other distinct cells and do
          not block each other.
        - Entering (moving into) a flag that is available *for that agent* pays
          `flag_reward` and marks it taken for that agent only. Once an agent has
          taken all F flags, all become available again for it (a new cycle).
          Standing on a flag pays nothing (the reference also pays for standing on
          a flag that became available again; we pay on entry only).
        - Flags are observed whatever their availability: remembering which were
          taken is the task.
        - Actions 5 (attack) and 6 (dig) do nothing here (masked illegal, act as stay).

    Observation: i32[N, V, V, 2] egocentric crop (map edge padded with `Tile.WALL`):
        channel 0 `Tile` id (EMPTY, DECOR, FLAG, WALL off-map), channel 1 `Unit` id
        (SELF at the centre `[V//2, V//2]`, AGENT for others).
    Action: i32[N] in 0..6 (0 up (y+1), 1 right, 2 down, 3 left, 4 stay, 5 attack, 6 dig).
    Reward: f32[N], `flag_reward` when the agent took a flag this step, else 0.
    Termination: never; truncation at `max_steps`.
    State: `TravelingSalesmanState` (terrain i8[W, H], positions i32[N, 2],
        flag_positions i32[F, 2], flag_available bool[N, F], step i32[]).
    """

    name: ClassVar[str] = "traveling_salesman"

    width: int = 20
    """Map width W in cells (>= 1)."""
    height: int = 20
    """Map height H in cells (>= 1)."""
    num_agents: int = 4
    """Number of agents N."""
    num_flags: int = 8
    """Number of flags F."""
    view_size: int = 11
    """Side V of the square egocentric view (odd; the reference's default is 11)."""
    flag_reward: float = 1.0 / 3.0
    """Reward for taking an available flag."""
    decor_density: float = 0.1
    """Share of cells drawn as (walkable) decor, in [0, 1); the reference uses 10%."""
    max_steps: int = 512
    """Episode length in steps (truncation)."""

    def __post_init__(self) -> None:
        require_grid_settings(self, densities=("decor_density",))
        require_positive_int("num_agents", self.num_agents)
        require_positive_int("num_flags", self.num_flags)
        cells = self.width * self.height
        require(
            self.num_agents + self.num_flags <= cells,
            "num_flags",
            self.num_flags,
            f"num_agents + num_flags <= width * height = {cells} (distinct cells)",
        )
        require_number("flag_reward", self.flag_reward)

    # ---- spaces --------------------------------------------------------------
    @property
    def observation_space(self) -> Box:
        max_id = max(NUM_TILES, NUM_UNITS) - 1
        return Box(0, max_id, (self.view_size, self.view_size, 2), "int32")

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_ACTIONS)

    def action_mask(self, state: TravelingSalesmanState) -> jax.Array:
        """bool[N, 7]: moves and stay are legal; attack and dig have nothing to act on."""
        del state
        legal = jnp.arange(NUM_ACTIONS) <= Action.STAY
        return jnp.broadcast_to(legal, (self.num_agents, NUM_ACTIONS))

    # ---- dynamics ------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, TravelingSalesmanState]:
        terrain, flag_positions, positions = generate_episode(
            key, self.width, self.height, self.num_flags, self.num_agents, self.decor_density
        )
        state = TravelingSalesmanState(
            terrain=terrain,
            positions=positions,
            flag_positions=flag_positions,
            flag_available=jnp.ones((self.num_agents, self.num_flags), bool),
            step=jnp.int32(0),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: TravelingSalesmanState, actions: jax.Array
    ) -> tuple[jax.Array, TravelingSalesmanState, jax.Array, jax.Array, Info]:
        del key  # deterministic dynamics
        targets = move_targets(state.positions, actions)
        inside = in_bounds(targets, self.width, self.height)
        positions = jnp.where(inside[:, None], targets, state.positions)
        moved = inside & (actions < Action.STAY)
        # N x F cell comparison: cheaper than a flag-index map for a handful of flags
        on_flag = jnp.all(positions[:, None, :] == state.flag_positions[None, :, :], axis=-1)
        taken = on_flag & state.flag_available & moved[:, None]  # bool[N, F]
        available = state.flag_available & ~taken
        cycle_done = ~jnp.any(available, axis=-1)
        available = available | cycle_done[:, None]
        reward = jnp.where(jnp.any(taken, axis=-1), self.flag_reward, 0.0).astype(jnp.float32)
        state = state.replace(positions=positions, flag_available=available, step=state.step + 1)
        info = {"flags_taken": jnp.sum(taken, axis=-1), "cycle_completed": cycle_done}
        return self._observe(state), state, reward, jnp.bool_(False), info

    def _observe(self, state: TravelingSalesmanState) -> jax.Array:
        """Egocentric crops of terrain and agents: i32[N, V, V, 2]."""
        others = jnp.full(self.num_agents, Unit.AGENT << _UNIT_SHIFT, jnp.int32)
        units = scatter_units(others, state.positions, self.width, self.height)
        codes = state.terrain.astype(jnp.int32) | units
        views = egocentric_views(codes, state.positions, self.view_size, int(Tile.WALL))
        centre = np.zeros((self.view_size, self.view_size), bool)
        centre[self.view_size // 2, self.view_size // 2] = True
        self_code = (views & _TILE_MASK) | (Unit.SELF << _UNIT_SHIFT)
        views = jnp.where(jnp.asarray(centre)[None], self_code, views)
        # unpack both channels in one broadcast op (cheaper than a stack on XLA:CPU)
        shifts = np.array([0, _UNIT_SHIFT], np.int32).reshape(1, 1, 1, 2)
        masks = np.array([_TILE_MASK, 0xFF], np.int32).reshape(1, 1, 1, 2)
        return (views[..., None] >> shifts) & masks

    # ---- extras ----------------------------------------------------------------
    def render(self, state: TravelingSalesmanState) -> jax.Array:
        return render_state(state)

    def global_state(self, state: TravelingSalesmanState, obs: jax.Array) -> jax.Array:
        """f32[N*V*V*2 + N*F]: all views plus every agent's flag availability (its memory)."""
        return jnp.concatenate([obs.reshape(-1), state.flag_available.reshape(-1)]).astype(
            jnp.float32
        )
