"""Scouts (gabe00122/jaxrl `ScoutsEnv`): harvesters unlock flags, scouts collect them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import chex
import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env, Info
from marlax.envs.grid.geometry import egocentric_views, move_targets, scatter_units
from marlax.envs.grid.settings import require_grid_settings
from marlax.envs.grid.tiles import NUM_ACTIONS, NUM_TILES, NUM_UNITS, Action, Tile, Unit
from marlax.envs.scouts.generator import generate_episode
from marlax.envs.scouts.render import render_state
from marlax.envs.scouts.types import State
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import require, require_nonnegative_int, require_positive_int

UNIT_BITS = 3
"""Bits of a Unit id in the packed observation code (NUM_UNITS <= 8)."""
UNIT_MASK = (1 << UNIT_BITS) - 1
NUM_CHANNELS = 3
"""Observation channels: terrain Tile id, Unit id, own role (Unit.SCOUT or Unit.HARVESTER)."""


@dataclass(frozen=True)
class Scouts(Env):
    """Fast scouts and slow harvesters on a walled map with F flags.

    Agents 0..S-1 are scouts, S..N-1 harvesters (N = S + H).

    Rules (the reference's, with its bugs fixed):
    - scouts may move on every step; harvesters only on the steps whose index t (the
      clock `state.step` before the step, starting at 0) is a multiple of
      `harvester_move_every` (k): t = 0, k, 2k, ...; on other steps their actions are
      ignored. (The reference restarts a per-harvester countdown of k after each move,
      so its harvesters move every k + 1 steps, and starts the clock at 50.)
    - walls (`Tile.WALL`, permanent) block moves; agents never block each other;
    - a harvester entering a locked flag gets +1 and unlocks it (`FLAG` -> `FLAG_UNLOCKED`);
    - a scout entering an unlocked flag gets +1 and clears it (-> `EMPTY`);
    - a scout entering a locked flag, or a harvester an unlocked one, gets nothing (as in
      the reference); staying on a cell is not entering it;
    - STAY, ATTACK and DIG do nothing (nothing can be attacked or dug here);
    - all decisions read the map as it was at the start of the step; several agents
      entering the same flag in one step each get +1 (as in the reference).

    - **obs** `i32[N, V, V, 3]` egocentric (`obs[i, V//2 + dx, V//2 + dy]` is the cell at
      offset (dx, dy)): channel 0 the `Tile` id (WALL beyond the map), channel 1 the `Unit`
      id (SELF at the centre, SCOUT / HARVESTER for the others, HARVESTER where both
      share a cell), channel 2 the observer's own role (`Unit.SCOUT` or `Unit.HARVESTER`)
      in every cell, so a policy shared by both roles knows which one it plays.
    - **actions** `i32[N]` in `Discrete(7)`: up (y+1), right, down, left, stay, attack, dig.
    - **action mask** `bool[N, 7]`: a harvester on a step where it cannot move may only
      STAY (its action is ignored anyway); otherwise every action is legal.
    - **reward** `f32[N]`: +1 per flag unlocked (harvesters) or cleared (scouts) this step.
    - **termination** never (flags do not respawn); truncated after `max_steps` steps.
    - **state** `State`: terrain i8[W, H], positions i32[N, 2], step i32[].
    """

    name: ClassVar[str] = "scouts"

    width: int = 40
    """Map width W in cells, border included (>= 3)."""
    height: int = 40
    """Map height H in cells, border included (>= 3)."""
    num_scouts: int = 1
    """Number of scouts S (>= 0; the reference's default)."""
    num_harvesters: int = 1
    """Number of harvesters H (>= 0, S + H >= 1; the reference's default)."""
    num_flags: int = 24
    """Locked flags placed at reset (>= 0; S + H + F must fit in the (W-2)(H-2) inner cells)."""
    harvester_move_every: int = 6
    """Harvesters may move on steps t with t % harvester_move_every == 0 (>= 1)."""
    view_size: int = 11
    """Side V of the square egocentric view; odd, so the agent sits at its centre."""
    wall_density: float = 0.4
    """Share in [0, 1) of the noise range above which a cell is wall; the wall share of a
    map is about this (0.4: about 40%, like the reference's `noise > 0.05`)."""
    max_steps: int = 512
    """Episode length in steps."""

    def __post_init__(self) -> None:
        require_grid_settings(self, min_width=3, min_height=3, densities=("wall_density",))
        require_nonnegative_int("num_scouts", self.num_scouts)
        require_nonnegative_int("num_harvesters", self.num_harvesters)
        require(
            self.num_scouts + self.num_harvesters >= 1,
            "num_scouts",
            self.num_scouts,
            "num_scouts + num_harvesters >= 1",
        )
        require_nonnegative_int("num_flags", self.num_flags)
        require_positive_int("harvester_move_every", self.harvester_move_every)
        inner_cells = (self.width - 2) * (self.height - 2)
        require(
            self.num_agents + self.num_flags <= inner_cells,
            "num_flags",
            self.num_flags,
            f"num_scouts + num_harvesters + num_flags <= {inner_cells} (the inner cells of "
            f"a {self.width}x{self.height} map)",
        )

    # ---- spaces ------------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return self.num_scouts + self.num_harvesters

    @property
    def observation_space(self) -> Space:
        high = max(NUM_TILES, NUM_UNITS) - 1
        return Box(0, high, (self.view_size, self.view_size, NUM_CHANNELS), "int32")

    @property
    def action_space(self) -> Space:
        return Discrete(NUM_ACTIONS)

    def roles(self) -> jax.Array:
        """i32[N]: `Unit.SCOUT` for agents 0..S-1, `Unit.HARVESTER` for the rest."""
        return jnp.where(
            jnp.arange(self.num_agents) < self.num_scouts, Unit.SCOUT, Unit.HARVESTER
        ).astype(jnp.int32)

    # ---- API ---------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, State]:
        """A fresh map with F locked flags; agents on distinct empty cells; clock at 0.

        Returns:
            obs i32[N, V, V, 3]; State.
        """
        terrain, positions = generate_episode(
            key, self.width, self.height, self.num_agents, self.num_flags, self.wall_density
        )
        state = State(terrain=terrain, positions=positions, step=jnp.zeros((), jnp.int32))
        return self.observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Moves, unlocks and clears of all agents against the start-of-step map.

        Args:
            key: unused (the dynamics are deterministic).
            state: State.
            actions: i32[N].
        """
        del key
        chex.assert_shape(actions, (self.num_agents,))
        actions = jnp.asarray(actions, jnp.int32)
        is_harvester = self.roles() == Unit.HARVESTER
        can_move = ~is_harvester | (state.step % self.harvester_move_every == 0)
        is_move = can_move & (actions < Action.STAY)
        # positions stay inside the border, so every target lies on the map
        targets = move_targets(state.positions, jnp.where(is_move, actions, Action.STAY))
        target_tiles = state.terrain[targets[:, 0], targets[:, 1]]
        enters = is_move & (target_tiles != Tile.WALL)
        unlocks = enters & is_harvester & (target_tiles == Tile.FLAG)
        clears = enters & ~is_harvester & (target_tiles == Tile.FLAG_UNLOCKED)

        positions = jnp.where(enters[:, None], targets, state.positions)
        # agents without a flag event write off the map (x = W), which `mode="drop"` discards
        event_x = jnp.where(unlocks | clears, targets[:, 0], self.width)
        new_tiles = jnp.where(unlocks, Tile.FLAG_UNLOCKED, Tile.EMPTY).astype(jnp.int8)
        terrain = state.terrain.at[event_x, targets[:, 1]].set(new_tiles, mode="drop")

        state = State(terrain=terrain, positions=positions, step=state.step + 1)
        reward = (unlocks | clears).astype(jnp.float32)
        return self.observe(state), state, reward, jnp.zeros((), bool), {}

    def observe(self, state: State) -> jax.Array:
        """Egocentric views of terrain and agents, plus the observer's role.

        Returns:
            i32[N, V, V, 3]: Tile ids (WALL off the map), Unit ids (SELF at the centre),
            own role.
        """
        width, height = state.terrain.shape
        roles = self.roles()
        units = scatter_units(roles, state.positions, width, height)
        # one crop of a packed (tile << 3 | unit) code instead of one crop per channel;
        # shifts and masks, because integer division is slow on XLA:CPU
        combined = (state.terrain.astype(jnp.int32) << UNIT_BITS) | units
        views = egocentric_views(combined, state.positions, self.view_size, Tile.WALL << UNIT_BITS)
        # a static centre mask fuses into the crop; a scatter would add a pass over the views
        centre = np.zeros((self.view_size, self.view_size), bool)
        centre[self.view_size // 2, self.view_size // 2] = True
        seen_units = jnp.where(centre, Unit.SELF, views & UNIT_MASK)
        own_role = jnp.broadcast_to(roles[:, None, None], views.shape)
        return jnp.stack([views >> UNIT_BITS, seen_units, own_role], axis=-1)

    def action_mask(self, state: State) -> jax.Array:
        """bool[N, 7]: a harvester that cannot move this step may only STAY."""
        is_harvester = self.roles() == Unit.HARVESTER
        idle = is_harvester & (state.step % self.harvester_move_every != 0)
        only_stay = jnp.arange(NUM_ACTIONS) == Action.STAY
        return ~idle[:, None] | only_stay[None, :]

    def render(self, state: State) -> jax.Array:
        return render_state(state, self.roles())
