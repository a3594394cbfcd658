"""King of the hill: two teams dig, fight and hold control points."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Env, Info
from marlax.envs.grid.geometry import direction_delta, move_targets
from marlax.envs.grid.settings import require_grid_settings
from marlax.envs.grid.tiles import NUM_ACTIONS, NUM_TILES, NUM_UNITS, Action
from marlax.envs.king_of_the_hill import rules
from marlax.envs.king_of_the_hill.generator import (
    band_rows,
    generate_map,
    start_facing,
    start_positions,
)
from marlax.envs.king_of_the_hill.observe import NUM_CHANNELS, global_channels, observe
from marlax.envs.king_of_the_hill.render import render_state
from marlax.envs.king_of_the_hill.types import NEUTRAL, KingOfTheHillState
from marlax.envs.spaces import Box, Discrete
from marlax.validate import require, require_nonnegative_int, require_number, require_positive_int


@dataclass(frozen=True)
class KingOfTheHill(Env):
    """Two teams capture and hold control points (gabe00122/jaxrl `king_hill.py`).

    Agents `0 .. team_size-1` are team 0 and spawn on row y = 0; the others are
    team 1 and spawn on row y = H-1 (fixed, centred cells). Fractal diggable
    walls fill the map except the spawn rows; P control points lie in a central
    band of `control_band_height` rows. Off-map cells are permanent walls.

    One step, in order:
        1. Agents with a timeout are forced to stay (their action is ignored).
        2. Dig: an agent that digs while facing a diggable wall clears it and must
           stay for the next `dig_timeout` steps (it moves again on the step after).
        3. Attack: an agent standing on a cell an attacker faces respawns at its
           start cell, facing the map centre (friendly fire counts). A hit agent does
           not move this step. Attacks and digs use the facing and cells from the
           start of the step. A respawn onto an occupied start cell shares it.
        4. Move: the map edge, diggable walls and cells occupied at the start of this
           phase block; two or more agents entering the same cell all stay.
        5. Facing = the direction of the agent's move action, even when the move was
           blocked or cancelled by a clash (the reference does the same).
        6. Capture: a point goes to a team standing on it alone and stays theirs until
           the other team stands on it alone; with both teams (or nobody) on it the
           owner is unchanged (the reference gives contested points to team 1).
    Rewards: every agent gets `reward_per_point` x (points its team holds after the
        capture phase), every step.

    Observation: i32[N, V, V, 3] egocentric crops (off-map padded with `Tile.WALL`):
        channel 0 `Tile` id (EMPTY, DECOR, DIGGABLE_WALL, WALL, CONTROL_POINT_OWN /
        _ENEMY / _NEUTRAL relative to the observer's team), channel 1 `Unit` id (SELF
        at the centre, ALLY / ENEMY relative to the observer), channel 2 facing of the
        agent seen there (0 none, 1..4 = up, right, down, left).
    Action: i32[N] in 0..6 (0 up (y+1), 1 right, 2 down, 3 left, 4 stay, 5 attack, 6 dig).
        `action_mask`: only stay is legal while an agent serves a timeout.
    Reward: f32[N] as above. Termination: never; truncation at `max_steps`.
    State: `KingOfTheHillState` (terrain i8[W, H], positions i32[N, 2], facing i32[N],
        timeout i32[N], control_positions i32[P, 2], control_owner i32[P], step i32[]).
    """

    name: ClassVar[str] = "king_of_the_hill"

    width: int = 40
    """Map width W in cells (the reference's 40)."""
    height: int = 40
    """Map height H in cells (>= 3: two spawn rows and the band between them)."""
    team_size: int = 8
    """Agents per team; N = 2 * team_size."""
    num_control_points: int = 2
    """Control points P."""
    control_band_height: int = 11
    """Rows of the central band the points are drawn in (the reference's 11)."""
    view_size: int = 11
    """Side V of the square egocentric view (odd)."""
    dig_timeout: int = 10
    """Steps a digger is forced to stay after clearing a wall."""
    reward_per_point: float = 10.0 / 512.0
    """Reward per step per point held by the agent's team."""
    wall_density: float = 0.3
    """Noise threshold share for diggable walls, in [0, 1) (about 18% of cells at 0.3)."""
    decor_density: float = 0.1
    """Share of cells drawn as (walkable) decor, in [0, 1)."""
    max_steps: int = 512
    """Episode length in steps (truncation)."""

    def __post_init__(self) -> None:
        # height >= 3: two spawn rows and a band between them
        require_grid_settings(self, min_height=3, densities=("wall_density", "decor_density"))
        require_positive_int("team_size", self.team_size)
        require_positive_int("num_control_points", self.num_control_points)
        require_positive_int("control_band_height", self.control_band_height)
        require_nonnegative_int("dig_timeout", self.dig_timeout)
        require(
            self.team_size <= self.width,
            "team_size",
            self.team_size,
            f"at most width={self.width} (a team spawns on one row)",
        )
        first, end = band_rows(self.height, self.control_band_height)
        require(
            first >= 1 and end <= self.height - 1,
            "control_band_height",
            self.control_band_height,
            f"at most height - 2 = {self.height - 2} (the band must miss the spawn rows)",
        )
        band_cells = self.width * self.control_band_height
        require(
            self.num_control_points <= band_cells,
            "num_control_points",
            self.num_control_points,
            f"at most width * control_band_height = {band_cells}",
        )
        require_number("reward_per_point", self.reward_per_point)

    # ---- static facts ----------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return 2 * self.team_size

    @property
    def teams(self) -> jax.Array:
        """i32[N]: team of each agent (0 for the first team_size agents, else 1)."""
        return jnp.repeat(jnp.arange(2, dtype=jnp.int32), self.team_size)

    @property
    def start_positions(self) -> jax.Array:
        """i32[N, 2]: fixed spawn cells (x, y)."""
        return jnp.asarray(start_positions(self.width, self.height, self.team_size))

    @property
    def observation_space(self) -> Box:
        max_id = max(NUM_TILES, NUM_UNITS) - 1
        return Box(0, max_id, (self.view_size, self.view_size, NUM_CHANNELS), "int32")

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_ACTIONS)

    def action_mask(self, state: KingOfTheHillState) -> jax.Array:
        """bool[N, 7]: everything is legal, except that frozen agents may only stay."""
        stay = jnp.arange(NUM_ACTIONS) == Action.STAY
        return (state.timeout == 0)[:, None] | stay[None, :]

    # ---- dynamics ----------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, KingOfTheHillState]:
        terrain, control_positions = generate_map(
            key,
            self.width,
            self.height,
            self.num_control_points,
            self.control_band_height,
            self.wall_density,
            self.decor_density,
        )
        state = KingOfTheHillState(
            terrain=terrain,
            positions=self.start_positions,
            facing=jnp.asarray(start_facing(self.team_size)),
            timeout=jnp.zeros(self.num_agents, jnp.int32),
            control_positions=control_positions,
            control_owner=jnp.full(self.num_control_points, NEUTRAL, jnp.int32),
            step=jnp.int32(0),
        )
        return observe(state, self.teams, self.view_size), state

    def _step(
        self, key: jax.Array, state: KingOfTheHillState, actions: jax.Array
    ) -> tuple[jax.Array, KingOfTheHillState, jax.Array, jax.Array, Info]:
        del key  # deterministic dynamics
        # 1. forced stay
        actions = jnp.where(state.timeout > 0, Action.STAY, actions)
        timeout = jnp.maximum(state.timeout - 1, 0)
        faced = state.positions + direction_delta(state.facing)
        # 2. dig
        terrain, dug = rules.dig(state.terrain, faced, actions == Action.DIG)
        timeout = jnp.where(dug, self.dig_timeout, timeout)
        # 3. attack
        hit = rules.attacked(
            state.positions, faced, actions == Action.ATTACK, self.width, self.height
        )
        positions = jnp.where(hit[:, None], self.start_positions, state.positions)
        # 4. move
        moving = (actions < Action.STAY) & ~hit
        targets = move_targets(positions, jnp.where(moving, actions, Action.STAY))
        positions = rules.resolve_moves(terrain, positions, targets, moving)
        # 5. facing
        facing = jnp.where(moving, actions, state.facing)
        facing = jnp.where(hit, jnp.asarray(start_facing(self.team_size)), facing)
        # 6. capture and reward
        owner = rules.capture(state.control_positions, state.control_owner, positions, self.teams)
        reward = rules.team_rewards(owner, self.teams, self.reward_per_point)
        state = state.replace(
            terrain=terrain,
            positions=positions,
            facing=facing,
            timeout=timeout,
            control_owner=owner,
            step=state.step + 1,
        )
        info = {"hit": hit, "dug": dug}
        return observe(state, self.teams, self.view_size), state, reward, jnp.bool_(False), info

    # ---- extras ----------------------------------------------------------------------
    def render(self, state: KingOfTheHillState) -> jax.Array:
        return render_state(state, self.teams)

    def global_state(self, state: KingOfTheHillState, obs: jax.Array) -> jax.Array:
        """f32[W * H * 3]: the whole map (tile, unit, facing) in team-0 colours, flattened."""
        del obs
        return global_channels(state, self.teams).reshape(-1).astype(jnp.float32)
