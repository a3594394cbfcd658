"""Energy-flow grid world: agents harvest energy that sources radiate and pathways carry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Env, Info
from marlax.envs.energy_flow import dynamics
from marlax.envs.energy_flow.constants import NUM_ACTIONS, NUM_CHANNELS
from marlax.envs.energy_flow.generator import sample_world
from marlax.envs.energy_flow.observation import observe
from marlax.envs.energy_flow.render import render_state
from marlax.envs.energy_flow.types import State
from marlax.envs.grid.settings import require_grid_settings
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import (
    require,
    require_fraction,
    require_non_negative,
    require_nonnegative_int,
    require_number,
    require_positive,
    require_positive_int,
)


@dataclass(frozen=True)
class EnergyFlow(Env):
    """N agents on a W x H grid harvest energy from sources and pathways.

    World (drawn at reset, fixed for the episode):
    - `num_sources` sources on distinct uniform cells, strengths uniform in
      [min_strength, max_strength].
    - Radiation: cell c receives `sum_s strength_s * radiation_decay ** manhattan(c, s)`
      per step.
    - `num_pathways` corridors: pathway p leaves source `p mod S` for a uniform cell,
      straight or L-shaped (x first or y first, equal chance). Its k-th cell (k steps
      from the source) receives `strength * pathway_dissipation ** k` per step; flows of
      crossing pathways add up. With dissipation > decay, pathways carry energy further.
    - `supply(c)` = radiation + pathway flow. Cells start at their resting energy
      `min(supply / cell_leak, cell_capacity)` (full when `cell_leak` = 0).

    Step, in order:
    1. Move: 0 wait, 1 left (x-1), 2 right (x+1), 3 up (y+1), 4 down (y-1). A move off the
       map is a wait. Agents may share cells.
    2. Burn: each agent's stored energy drops by `metabolism` (not below 0); this energy
       leaves the world and is not part of the reward.
    3. Absorb (`dynamics.absorb`): every cell c offers `absorb_rate * E(c)` split equally
       among the agents whose own cell or 4-neighbourhood contains c; each agent takes all
       it is offered up to `agent_capacity - stored`, the same fraction of every share,
       leaving the rest in the cells. Energy absorbed by agents == energy removed from cells.
    4. Replenish: `E(c) <- min((1 - cell_leak) * E(c) + supply(c), cell_capacity)`; the
       leak keeps cells far from sources low, so the energy landscape keeps its shape.

    - **obs** `f32[N, V, V, 5]` (V = view_size), an egocentric crop centred on the agent,
      `obs[i, V//2 + dx, V//2 + dy]` = cell (x_i + dx, y_i + dy); channels (`Channel`):
      0 cell energy / cell_capacity, 1 min(supply / cell_capacity, 1), 2 other agents on
      the cell / N, 3 off-map flag (1 beyond the edge, where the other channels read 0),
      4 own stored energy / agent_capacity (the same in every cell). All in [0, 1].
    - **actions** `i32[N]` in `Discrete(5)`; all always legal.
    - **reward** `f32[N]`: energy each agent absorbed this step (step 3), in
      [0, agent_capacity].
    - **termination** never; the episode is truncated after `max_steps` steps.
      `info["energy_removed"]` (f32[]) is the energy the cells gave up this step.
    - **state** `State`: cell_energy f32[W, H], supply f32[W, H], source_positions i32[S, 2],
      source_strengths f32[S], pathway_mask bool[W, H], agent_positions i32[N, 2],
      agent_energy f32[N] (starts at 0), step i32[].
    """

    name: ClassVar[str] = "energy_flow"

    width: int = 20
    """Map width W (cells along x, >= 1)."""
    height: int = 20
    """Map height H (cells along y, >= 1)."""
    num_agents: int = 2
    """Number of agents N."""
    num_sources: int = 4
    """Number of energy sources S, at most W * H (they sit on distinct cells)."""
    num_pathways: int = 4
    """Number of pathways P (0 for none); pathway p starts at source p mod S."""
    min_strength: float = 2.0
    """Smallest source strength (energy per step at the source's own cell), > 0."""
    max_strength: float = 10.0
    """Largest source strength, >= min_strength."""
    radiation_decay: float = 0.6
    """Radiation factor per step of Manhattan distance, in (0, 1)."""
    pathway_dissipation: float = 0.9
    """Pathway flow factor per cell along the pathway, in (0, 1]."""
    cell_capacity: float = 10.0
    """Most energy a cell holds, > 0."""
    cell_leak: float = 0.1
    """Fraction of its energy a cell loses per step before replenishment, in [0, 1)."""
    absorb_rate: float = 0.25
    """Fraction of each reachable cell's energy offered per step, in (0, 1]."""
    agent_capacity: float = 1000.0
    """Most energy an agent stores, > 0."""
    metabolism: float = 1.0
    """Energy each agent burns per step, >= 0 (so a full agent can absorb again)."""
    view_size: int = 5
    """Side V of the egocentric view, odd."""
    max_steps: int = 200
    """Episode length in steps."""

    def __post_init__(self) -> None:
        require_grid_settings(self)
        require_positive_int("num_agents", self.num_agents)
        require_positive_int("num_sources", self.num_sources)
        require_nonnegative_int("num_pathways", self.num_pathways)
        cells = self.width * self.height
        require(
            self.num_sources <= cells,
            "num_sources",
            self.num_sources,
            f"at most width * height = {cells} (sources sit on distinct cells)",
        )
        require_positive("min_strength", self.min_strength)
        require_positive("max_strength", self.max_strength)
        require(
            self.max_strength >= self.min_strength,
            "max_strength",
            self.max_strength,
            f">= min_strength = {self.min_strength}",
        )
        require_number(
            "radiation_decay", self.radiation_decay, 0.0, 1.0, open_low=True, open_high=True
        )
        require_number("pathway_dissipation", self.pathway_dissipation, 0.0, 1.0, open_low=True)
        require_positive("cell_capacity", self.cell_capacity)
        require_fraction("cell_leak", self.cell_leak)
        require_number("absorb_rate", self.absorb_rate, 0.0, 1.0, open_low=True)
        require_positive("agent_capacity", self.agent_capacity)
        require_non_negative("metabolism", self.metabolism)

    # ---- spaces ------------------------------------------------------------------
    @property
    def observation_space(self) -> Space:
        return Box(0.0, 1.0, (self.view_size, self.view_size, NUM_CHANNELS))

    @property
    def action_space(self) -> Space:
        return Discrete(NUM_ACTIONS)

    # ---- dynamics ----------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, State]:
        """Draw a world; obs f32[N, V, V, 5]."""
        world = sample_world(
            key,
            self.width,
            self.height,
            self.num_sources,
            self.num_pathways,
            self.num_agents,
            (self.min_strength, self.max_strength),
            self.radiation_decay,
            self.pathway_dissipation,
        )
        state = State(
            cell_energy=dynamics.resting_energy(world.supply, self.cell_leak, self.cell_capacity),
            supply=world.supply,
            source_positions=world.source_positions,
            source_strengths=world.source_strengths,
            pathway_mask=world.pathway_mask,
            agent_positions=world.agent_positions,
            agent_energy=jnp.zeros(self.num_agents, jnp.float32),
            step=jnp.asarray(0, jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Move, burn, absorb, replenish; actions i32[N]; reward f32[N] = energy absorbed."""
        del key  # the dynamics are deterministic
        positions = dynamics.move_agents(
            state.agent_positions, actions.astype(jnp.int32), self.width, self.height
        )
        stored = dynamics.burn(state.agent_energy, self.metabolism)
        absorption = dynamics.absorb(
            state.cell_energy, stored, positions, self.absorb_rate, self.agent_capacity
        )
        cell_energy = dynamics.replenish(
            absorption.cell_energy, state.supply, self.cell_leak, self.cell_capacity
        )
        state = state.replace(
            cell_energy=cell_energy,
            agent_positions=positions,
            agent_energy=absorption.agent_energy,
            step=state.step + 1,
        )
        info = {"energy_removed": absorption.removed.sum()}
        return self._observe(state), state, absorption.absorbed, jnp.asarray(False), info

    def _observe(self, state: State) -> jax.Array:
        return observe(state, self.cell_capacity, self.agent_capacity, self.view_size)

    def render(self, state: State) -> jax.Array:
        """Heat map of cell energy with pathways, sources and agents: u8[H*px, W*px, 3]."""
        return render_state(state, self.cell_capacity)
