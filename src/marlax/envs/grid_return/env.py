"""Grid return (gabe00122/jaxrl `ReturnDiggingEnv`): dig to the treasure, get teleported, repeat."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import chex
import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env, Info
from marlax.envs.grid.geometry import egocentric_views, scatter_units
from marlax.envs.grid.settings import require_grid_settings
from marlax.envs.grid.tiles import DIRECTIONS, NUM_ACTIONS, NUM_TILES, NUM_UNITS, Action, Tile, Unit
from marlax.envs.grid_return.generator import generate_episode
from marlax.envs.grid_return.render import render_state
from marlax.envs.grid_return.types import State
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import (
    require,
    require_choice,
    require_nonnegative_int,
    require_positive_int,
)

TELEPORT_CELLS = 32
"""Teleport destinations drawn per episode (fewer on maps too small to hold them)."""
UNIT_BITS = 3
"""Bits of a Unit id in the packed observation code (NUM_UNITS <= 8)."""
UNIT_MASK = (1 << UNIT_BITS) - 1
NUM_CHANNELS = 2
"""Observation channels: terrain Tile id, Unit id."""
OBS_DTYPES = ("int32", "uint8")
"""Observation dtypes: ids fit in a byte (tile << 3 | unit < 256), so "uint8" writes a quarter
of the bytes per step; the grid encoder widens them to int32 itself."""


@dataclass(frozen=True)
class GridReturn(Env):
    """N agents dig through fractal walls to one treasure; each find pays +1 and teleports.

    Rules (the reference's, with its bugs fixed):
    - a move into an empty cell or a cell with other agents moves there (agents never block);
    - a move into `Tile.WALL` (the permanent border) does nothing;
    - a move into `Tile.DIGGABLE_WALL` digs it (it becomes `Tile.EMPTY`), the agent stays,
      and is frozen for `dig_time` steps: its actions on those steps are ignored and it
      acts again on step `dig_time + 1` after the dig;
    - a move into the treasure pays +1 to that agent and teleports it to one of P empty
      cells drawn at reset (the treasure stays put for the whole episode);
    - STAY does nothing; ATTACK does nothing either (there is nobody to attack here: it
      acts as STAY); DIG digs the diggable wall in the agent's facing direction (the
      direction of its last move attempt, UP at reset) with the same freeze, and never
      moves the agent; a DIG facing anything else does nothing. (The reference indexes its
      direction table with actions 4-6, which made them move left; it masked them out.)
    - all decisions read the map as it was at the start of the step; several agents may
      dig the same wall, enter the treasure (each gets +1) or share a cell.

    - **obs** `obs_dtype[N, V, V, 2]` (int32 or uint8, the same ids) egocentric
      (`obs[i, V//2 + dx, V//2 + dy]` is the cell at offset (dx, dy)): channel 0 the `Tile` id
      (WALL beyond the map), channel 1 the `Unit` id (SELF at the centre, AGENT for other
      agents, NONE).
    - **actions** `i32[N]` in `Discrete(7)`: up (y+1), right, down, left, stay, attack, dig.
    - **action mask** `bool[N, 7]`: a frozen agent may only STAY (its action is ignored
      anyway); otherwise every action is legal.
    - **reward** `f32[N]`: +1 to each agent that entered the treasure this step.
    - **termination** never; the episode is truncated after `max_steps` steps.
    - **state** `State`: terrain i8[W, H], positions i32[N, 2], facing i32[N],
      frozen i32[N], teleport_cells i32[P, 2], step i32[].
    """

    name: ClassVar[str] = "grid_return"

    width: int = 40
    """Map width W in cells, border included (>= 3)."""
    height: int = 40
    """Map height H in cells, border included (>= 3)."""
    num_agents: int = 16
    """Number of agents N (>= 1, at most the (W-2)(H-2) inner cells minus the treasure)."""
    view_size: int = 11
    """Side V of the square egocentric view; odd, so the agent sits at its centre."""
    dig_time: int = 5
    """Steps an agent stays frozen after digging a wall (>= 0)."""
    wall_density: float = 0.4
    """Share in [0, 1) of the noise range above which a cell is diggable wall; the wall share
    of a map is about this (0.4: about 40%, like the reference's `noise > 0.05`)."""
    max_steps: int = 512
    """Episode length in steps."""
    obs_dtype: str = "int32"
    """"int32" or "uint8": the dtype of the observed ids (`OBS_DTYPES`). uint8 moves a quarter
    of the bytes from env to encoder (BENCHMARKS.md, "grid_return: uint8 observations")."""

    def __post_init__(self) -> None:
        require_grid_settings(self, min_width=3, min_height=3, densities=("wall_density",))
        require_choice("obs_dtype", self.obs_dtype, OBS_DTYPES)
        require_positive_int("num_agents", self.num_agents)
        require_nonnegative_int("dig_time", self.dig_time)
        inner_cells = (self.width - 2) * (self.height - 2)
        require(
            self.num_agents + 1 <= inner_cells,
            "num_agents",
            self.num_agents,
            f"at most {inner_cells - 1} (the inner cells of a {self.width}x{self.height} map, "
            "less one for the treasure)",
        )

    # ---- spaces ------------------------------------------------------------------
    @property
    def num_teleport_cells(self) -> int:
        """P: teleport destinations per episode, at least N (agents start on the first N)."""
        inner_cells = (self.width - 2) * (self.height - 2)
        return min(inner_cells - 1, max(self.num_agents, TELEPORT_CELLS))

    @property
    def observation_space(self) -> Space:
        high = max(NUM_TILES, NUM_UNITS) - 1
        return Box(0, high, (self.view_size, self.view_size, NUM_CHANNELS), self.obs_dtype)

    @property
    def action_space(self) -> Space:
        return Discrete(NUM_ACTIONS)

    # ---- API ---------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, State]:
        """A fresh map and agents, facing up, not frozen.

        Returns:
            obs obs_dtype[N, V, V, 2]; State.
        """
        terrain, positions, teleport_cells = generate_episode(
            key,
            self.width,
            self.height,
            self.num_agents,
            self.num_teleport_cells,
            self.wall_density,
        )
        state = State(
            terrain=terrain,
            positions=positions,
            facing=jnp.full((self.num_agents,), int(Action.UP), jnp.int32),
            frozen=jnp.zeros((self.num_agents,), jnp.int32),
            teleport_cells=teleport_cells,
            step=jnp.zeros((), jnp.int32),
        )
        return self.observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Moves, digs and treasure finds of all agents against the start-of-step map.

        Args:
            key: PRNG key for the teleport destinations.
            state: State.
            actions: i32[N].
        """
        chex.assert_shape(actions, (self.num_agents,))
        actions = jnp.asarray(actions, jnp.int32)
        free = state.frozen == 0
        is_move = free & (actions < Action.STAY)
        is_dig = free & (actions == Action.DIG)
        facing = jnp.where(is_move, actions, state.facing)
        # positions stay inside the border, so every target lies on the map
        targets = state.positions + jnp.asarray(DIRECTIONS)[facing]
        target_tiles = state.terrain[targets[:, 0], targets[:, 1]]
        digs = (is_move | is_dig) & (target_tiles == Tile.DIGGABLE_WALL)
        enters = is_move & (target_tiles != Tile.WALL) & (target_tiles != Tile.DIGGABLE_WALL)
        finds = enters & (target_tiles == Tile.TREASURE)

        pick = jax.random.randint(key, (self.num_agents,), 0, self.num_teleport_cells)
        positions = jnp.where(enters[:, None], targets, state.positions)
        positions = jnp.where(finds[:, None], state.teleport_cells[pick], positions)
        # non-diggers write off the map (x = W), which `mode="drop"` discards
        dig_x = jnp.where(digs, targets[:, 0], self.width)
        terrain = state.terrain.at[dig_x, targets[:, 1]].set(jnp.int8(Tile.EMPTY), mode="drop")
        frozen = jnp.where(digs, self.dig_time, jnp.maximum(state.frozen - 1, 0))

        state = State(
            terrain=terrain,
            positions=positions,
            facing=facing,
            frozen=frozen,
            teleport_cells=state.teleport_cells,
            step=state.step + 1,
        )
        reward = finds.astype(jnp.float32)
        return self.observe(state), state, reward, jnp.zeros((), bool), {}

    def observe(self, state: State) -> jax.Array:
        """Egocentric views of terrain and agents.

        Returns:
            obs_dtype[N, V, V, 2]: Tile ids (WALL off the map), Unit ids (SELF at the centre).
        """
        width, height = state.terrain.shape
        dtype = jnp.dtype(self.obs_dtype)
        codes = jnp.full((self.num_agents,), Unit.AGENT, jnp.int32)
        units = scatter_units(codes, state.positions, width, height)
        # one crop of a packed (tile << 3 | unit) code instead of one crop per channel;
        # shifts and masks, because integer division is slow on XLA:CPU. The code is < 80, so
        # the map is packed in the output dtype and a uint8 crop moves a quarter of the bytes.
        combined = ((state.terrain.astype(jnp.int32) << UNIT_BITS) | units).astype(dtype)
        views = egocentric_views(combined, state.positions, self.view_size, Tile.WALL << UNIT_BITS)
        # a static centre mask fuses into the crop; a scatter would add a pass over the views
        centre = np.zeros((self.view_size, self.view_size), bool)
        centre[self.view_size // 2, self.view_size // 2] = True
        seen_units = jnp.where(centre, jnp.asarray(Unit.SELF, dtype), views & UNIT_MASK)
        return jnp.stack([views >> UNIT_BITS, seen_units], axis=-1)

    def action_mask(self, state: State) -> jax.Array:
        """bool[N, 7]: a frozen agent may only STAY; a free one may do anything."""
        only_stay = jnp.arange(NUM_ACTIONS) == Action.STAY
        return (state.frozen == 0)[:, None] | only_stay[None, :]

    def render(self, state: State) -> jax.Array:
        return render_state(state)
