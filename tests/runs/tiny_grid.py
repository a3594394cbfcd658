"""A tiny deterministic grid world for the adapter, video and play tests.

Two agents on an open 4x3 map; grid action ids (0 up, 1 right, 2 down, 3 left,
4 stay, 5 attack, 6 dig); moves are clipped at the edge; reward 1 to an agent
standing on the right column; attack is illegal (masked) so masks are visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from marlax.envs.base import Env
from marlax.envs.grid.geometry import (
    clip_to_map,
    egocentric_views,
    move_targets,
    sample_cells,
    scatter_units,
)
from marlax.envs.grid.render import render_grid
from marlax.envs.grid.tiles import NUM_ACTIONS, NUM_UNITS, Action, Tile, Unit
from marlax.envs.spaces import Box, Discrete
from marlax.validate import require_positive_int

CELL_PX = 16
AGENT_COLORS = jnp.array([[0, 0, 0], [200, 30, 30], [30, 30, 200]], jnp.uint8)


@struct.dataclass
class TinyState:
    positions: jax.Array  # i32[N, 2] (x, y)
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class TinyGrid(Env):
    """Obs i32[N, 3, 3, 2] (tile, unit) crops; actions Discrete(7); reward f32[N]."""

    name: ClassVar[str] = "tiny_grid"
    width: int = 4
    height: int = 3
    max_steps: int = 5

    def __post_init__(self) -> None:
        for field in ("width", "height", "max_steps"):
            require_positive_int(field, getattr(self, field))

    @property
    def num_agents(self) -> int:
        return 2

    @property
    def observation_space(self) -> Box:
        return Box(0, NUM_UNITS - 1, (3, 3, 2), "int32")

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_ACTIONS)

    def reset(self, key: jax.Array) -> tuple[jax.Array, TinyState]:
        allowed = jnp.ones((self.width, self.height), bool)
        positions = sample_cells(key, allowed, self.num_agents, replace=False)
        state = TinyState(positions=positions, step=jnp.zeros((), jnp.int32))
        return self._observe(state), state

    def _step(self, key, state, actions):
        del key
        positions = clip_to_map(move_targets(state.positions, actions), self.width, self.height)
        state = TinyState(positions=positions, step=state.step + 1)
        reward = (positions[:, 0] == self.width - 1).astype(jnp.float32)
        return self._observe(state), state, reward, jnp.zeros((), bool), {}

    def action_mask(self, state: TinyState) -> jax.Array:
        del state
        legal = jnp.arange(NUM_ACTIONS) != Action.ATTACK
        return jnp.broadcast_to(legal, (self.num_agents, NUM_ACTIONS))

    def _observe(self, state: TinyState) -> jax.Array:
        units = scatter_units(
            jnp.full((self.num_agents,), Unit.AGENT), state.positions, self.width, self.height
        )
        terrain = jnp.zeros((self.width, self.height), jnp.int32)
        tiles = egocentric_views(terrain, state.positions, 3, Tile.WALL)
        seen = egocentric_views(units, state.positions, 3, Unit.NONE)
        return jnp.stack([tiles, seen], axis=-1)

    def render(self, state: TinyState) -> jax.Array:
        """Agent 0 red, agent 1 blue on light cells: u8[3*16, 4*16, 3]."""
        codes = jnp.arange(1, self.num_agents + 1)
        units = scatter_units(codes, state.positions, self.width, self.height)
        terrain = jnp.zeros((self.width, self.height), jnp.int32)
        return render_grid(terrain, units, CELL_PX, unit_colors=AGENT_COLORS)


def cell_centre_pixel(env: TinyGrid, position) -> tuple[int, int]:
    """(row, col) of the pixel at the centre of cell (x, y) in `render` (y up)."""
    x, y = int(position[0]), int(position[1])
    return (env.height - 1 - y) * CELL_PX + CELL_PX // 2, x * CELL_PX + CELL_PX // 2
