"""Battle (magent2's battle_v4 in pure JAX): two teams fight on a grid, O(N) per step."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import chex
import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env, Info
from marlax.envs.battle import combat
from marlax.envs.battle.constants import (
    HP_PER_UNIT,
    MAX_AGENTS_PER_SIDE,
    MAX_HP,
    NOOP,
    NUM_ACTIONS,
    NUM_CHANNELS,
    OBS_DTYPES,
    OPPONENTS,
)
from marlax.envs.battle.generator import block_spacing, max_agents_per_side, start_positions
from marlax.envs.battle.observe import byte_maps, map_interior, observe
from marlax.envs.battle.render import render_state
from marlax.envs.battle.scripted import scripted_actions, team_centre
from marlax.envs.battle.types import BattleState
from marlax.envs.spaces import Box, Discrete
from marlax.validate import (
    require,
    require_choice,
    require_int,
    require_int_at_least,
    require_number,
    require_positive_int,
)


@dataclass(frozen=True)
class Battle(Env):
    """Two teams of K agents fight on a W x W map walled at its border (magent2 battle_v4).

    Agents: rows `0 .. K-1` are team 0 (red, starts left), rows `K .. 2K-1` team 1 (blue,
    starts right); each team starts in a square block next to the middle (`generator.py`).
    With `opponent="self_play"` the env's N = 2K agents are both teams, in that order; with
    `"scripted"` its N = K agents are team 0 and team 1 follows `scripted.py`.

    One step (magent2's order: attacks, recovery, moves, rewards):
        1. Attacks (actions 13..20, the 8 neighbour cells) land at once on the agents present
           at the start of the step; a hit on a live enemy removes 2 HP (of 10); an agent
           whose HP drops below 0 dies (so 6 hits kill from full HP). Team-mates, empty
           cells and walls take nothing. An agent killed this step still lands its own
           attack (magent2 shuffles attacks and skips attackers already dead).
        2. Every live agent regains 0.1 HP, up to 10.
        3. Moves (actions 0..12, any cell within distance 2; 6 = stay) of the survivors, at
           once: a move into a border wall or into a cell occupied at the start of the move
           phase fails; several agents moving into one free cell: one enters, chosen by a
           random priority drawn from the step key, the others stay (magent2 moves agents
           one by one, so it lets an agent follow into a cell vacated earlier in its order).
        4. A dead agent leaves the map: it blocks no cell and cannot be attacked again.
    Reward (f32[N], magent2's defaults): `step_reward` (-0.005) to every agent alive at the
        start of the step, plus per attack `attack_penalty` (-0.1), plus
        `attack_opponent_reward` (+0.2) if it hit an enemy that survives or that another
        attacker gets the kill of, or `kill_reward` (+5) if it is the one attacker credited
        with the kill (the highest priority among those whose hits killed; magent2: the
        attacker whose hit came first in its random order, and later hitters get no +0.2).
        An agent that dies this step gets exactly `dead_penalty` (-0.1), as in magent2;
        afterwards 0.
    Termination: when a team has no live agent (magent2's rule); truncation at `max_steps`.
    Observation: `obs_dtype[N, V, V, 8]`, V = 2 * view_radius + 1, egocentric
        (`obs[i, r + dx, r + dy]` is the cell at offset (dx, dy)), the whole V x V square
        (magent2 blanks the cells outside the disc of radius r: here they stay visible):
        0 wall (the border ring, and off the map), 1 own-team presence (self included, at
        the centre), 2 own-team HP, 3 enemy presence, 4 enemy HP (0-4: magent2's channels),
        5 and 6 the cell's x and y on the map (so the centre gives the own position), 7 the
        observer's team. uint8: presences, walls and team 1 are 255 (0 otherwise); HP is
        round(255 * hp / max_hp); x is round(255 * x / (W - 1)), 0 off the map. float32:
        the same / 255 (magent2's scale: 0/1 and hp / max_hp). The own HP is channel 2 at
        the centre. A dead agent's obs is all zero.
    Action: i32[N] in `Discrete(21)`, magent2's ids: 0..12 moves by `MOVE_DELTAS`
        ((0,-2), (-1,-1), (0,-1), (1,-1), (-2,0), (-1,0), (0,0) = 6 no-op, (1,0), (2,0),
        (-1,1), (0,1), (1,1), (0,2)), 13..20 attacks on `ATTACK_DELTAS` ((-1,-1), (0,-1),
        (1,-1), (-1,0), (1,0), (-1,1), (0,1), (1,1)). `action_mask`: everything for a live
        agent, only the no-op (6) for a dead one (other actions of the dead are ignored).
    Info: `team_alive` i32[2] live agents per team after the step; `team_hp` f32[2] their
        total HP (magent2 units, max 10 per agent); `winner` i32[]: on the step the episode
        ends, the team that still has agents when the other is wiped out, or at the time
        limit the team with more live agents (equal: more total HP); -1 for a draw and on
        every step that does not end the episode.
    State: `BattleState` (positions i32[2K, 2], hp i32[2K] in tenths, alive bool[2K], step).
    """

    name: ClassVar[str] = "battle"

    agents_per_side: int = 8
    """K: agents per team (magent2's battle_v4 default: 81 on a 45 x 45 map)."""
    map_size: int = 16
    """W: side of the square map in cells, border walls included (magent2's map_size)."""
    view_radius: int = 6
    """r: agents see the (2r + 1)^2 square around them (magent2: 6, a 13 x 13 view)."""
    max_steps: int = 500
    """Episode length limit in steps (magent2's max_cycles, default 1000)."""
    opponent: str = "self_play"
    """"self_play" (N = 2K agents, both teams) or "scripted" (N = K agents, team 0)."""
    obs_dtype: str = "uint8"
    """"uint8" (values 0..255) or "float32" (the same / 255)."""
    step_reward: float = -0.005
    """Reward every step to each agent alive at its start (magent2's step_reward)."""
    dead_penalty: float = -0.1
    """The whole reward of an agent on the step it dies (magent2's dead_penalty)."""
    attack_penalty: float = -0.1
    """Reward per attack action, hit or miss (magent2's attack_penalty)."""
    attack_opponent_reward: float = 0.2
    """Reward for a hit on an enemy that is not credited as a kill (magent2's)."""
    kill_reward: float = 5.0
    """Reward of the attacker credited with a kill (magent2's KILL_REWARD)."""

    def __post_init__(self) -> None:
        require_int("agents_per_side", self.agents_per_side, 1, MAX_AGENTS_PER_SIDE)
        require_int_at_least("map_size", self.map_size, 6)
        require_positive_int("view_radius", self.view_radius)
        require_positive_int("max_steps", self.max_steps)
        require_choice("opponent", self.opponent, OPPONENTS)
        require_choice("obs_dtype", self.obs_dtype, OBS_DTYPES)
        for field in (
            "step_reward",
            "dead_penalty",
            "attack_penalty",
            "attack_opponent_reward",
            "kill_reward",
        ):
            require_number(field, getattr(self, field))
        if block_spacing(self.agents_per_side, self.map_size) == 0:
            most = max_agents_per_side(self.map_size)
            require(
                False,
                "agents_per_side",
                self.agents_per_side,
                f"at most {most} for map_size={self.map_size} (each team starts in a block "
                "in its half of the map): raise map_size",
            )

    # ---- static facts ----------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return self.agents_per_side * (2 if self.opponent == "self_play" else 1)

    @property
    def teams(self) -> np.ndarray:
        """i32[2K]: team of every agent in the state (0 for the first K, else 1)."""
        return np.repeat(np.arange(2, dtype=np.int32), self.agents_per_side)

    @property
    def view_size(self) -> int:
        """V = 2 * view_radius + 1."""
        return 2 * self.view_radius + 1

    @property
    def observation_space(self) -> Box:
        high = 255 if self.obs_dtype == "uint8" else 1.0
        return Box(0, high, (self.view_size, self.view_size, NUM_CHANNELS), self.obs_dtype)

    @property
    def action_space(self) -> Discrete:
        return Discrete(NUM_ACTIONS)

    # ---- API -----------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, BattleState]:
        """Both teams in their start blocks at full HP.

        Returns:
            obs `obs_dtype[N, V, V, 8]`; BattleState.
        """
        count = 2 * self.agents_per_side
        state = BattleState(
            positions=start_positions(key, self.agents_per_side, self.map_size),
            hp=jnp.full((count,), MAX_HP, jnp.int32),
            alive=jnp.ones((count,), bool),
            step=jnp.zeros((), jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: BattleState, actions: jax.Array
    ) -> tuple[jax.Array, BattleState, jax.Array, jax.Array, Info]:
        """Attacks, recovery, moves and rewards (class docstring).

        Args:
            key: PRNG key of the step's priorities (move conflicts, kill credit).
            state: BattleState.
            actions: i32[N].
        """
        chex.assert_shape(actions, (self.num_agents,))
        actions = self._all_actions(state, jnp.asarray(actions, jnp.int32))
        actions = jnp.where(state.alive, actions, NOOP)
        teams = jnp.asarray(self.teams)
        priority = combat.priorities(key, teams.shape[0])
        grid = combat.occupancy(state.positions, state.alive, self.map_size, self.map_size)
        attacks = combat.resolve_attacks(
            state.positions, state.alive, teams, actions, state.hp, priority, grid, self.map_size
        )
        alive = state.alive & ~attacks.died
        grid = combat.clear_cells(grid, state.positions, attacks.died, self.map_size)
        positions = combat.resolve_moves(
            state.positions, alive, actions, priority, grid, self.map_size, self.map_size
        )
        state = BattleState(
            positions=positions,
            hp=combat.recover(attacks.hp, alive),
            alive=alive,
            step=state.step + 1,
        )
        reward = self._rewards(attacks, state.alive | attacks.died)
        terminated, info = self._outcome(state)
        return self._observe(state), state, reward[: self.num_agents], terminated, info

    # ---- pieces of a step ------------------------------------------------------------
    def _all_actions(self, state: BattleState, actions: jax.Array) -> jax.Array:
        """i32[2K]: the agents' actions, and for `"scripted"` team 1's scripted ones."""
        if self.opponent == "self_play":
            return actions
        k = self.agents_per_side
        enemy_centre = team_centre(state.positions[:k], state.alive[:k])
        maps = self._maps(state)
        script = scripted_actions(
            maps, state.positions[k:], state.alive[k:], 1, enemy_centre, self.view_radius
        )
        return jnp.concatenate([actions, script])

    def _rewards(self, attacks: combat.Attacks, was_alive: jax.Array) -> jax.Array:
        """f32[2K] (class docstring); `was_alive`: bool[2K] alive at the start of the step."""
        reward = (
            self.step_reward
            + attacks.attacked * self.attack_penalty
            + (attacks.hit & ~attacks.killed) * self.attack_opponent_reward
            + attacks.killed * self.kill_reward
        )
        reward = jnp.where(attacks.died, self.dead_penalty, reward)
        return jnp.where(was_alive, reward, 0.0).astype(jnp.float32)

    def _outcome(self, state: BattleState) -> tuple[jax.Array, dict[str, jax.Array]]:
        """terminated bool[] and the info entries `team_alive`, `team_hp`, `winner`."""
        k = self.agents_per_side
        team_alive = jnp.stack([jnp.sum(state.alive[:k]), jnp.sum(state.alive[k:])])
        team_alive = team_alive.astype(jnp.int32)
        team_hp = jnp.stack([jnp.sum(state.hp[:k]), jnp.sum(state.hp[k:])])
        terminated = jnp.any(team_alive == 0)
        ended = terminated | (state.step >= self.max_steps)
        by_count = jnp.where(team_alive[0] > team_alive[1], 0, 1)
        by_hp = jnp.where(team_hp[0] > team_hp[1], 0, jnp.where(team_hp[0] < team_hp[1], 1, -1))
        leader = jnp.where(team_alive[0] != team_alive[1], by_count, by_hp)
        return terminated, {
            "team_alive": team_alive,
            "team_hp": team_hp.astype(jnp.float32) / HP_PER_UNIT,
            "winner": jnp.where(ended, leader, -1).astype(jnp.int32),
        }

    def _maps(self, state: BattleState) -> jax.Array:
        """Both teams' byte maps of the state (`observe.byte_maps`)."""
        teams = jnp.asarray(self.teams)
        return byte_maps(
            state.positions, state.hp, state.alive, teams, self.map_size, self.view_radius
        )

    def _observe(self, state: BattleState) -> jax.Array:
        """obs_dtype[N, V, V, 8] of the env's agents."""
        n = self.num_agents
        return observe(
            self._maps(state),
            state.positions[:n],
            state.alive[:n],
            jnp.asarray(self.teams[:n]),
            self.view_radius,
            self.obs_dtype,
        )

    # ---- extras ----------------------------------------------------------------------
    def action_mask(self, state: BattleState) -> jax.Array:
        """bool[N, 21]: every action for a live agent, only the no-op (6) for a dead one."""
        noop = jnp.arange(NUM_ACTIONS) == NOOP
        return state.alive[: self.num_agents, None] | noop[None, :]

    def alive(self, state: BattleState) -> jax.Array:
        """bool[N]: the env's agents still alive."""
        return state.alive[: self.num_agents]

    def agent_positions(self, state: BattleState) -> jax.Array:
        """f32[N, 2]: cells (x, y) of the env's agents (a dead agent: where it died)."""
        return state.positions[: self.num_agents].astype(jnp.float32)

    @property
    def arena(self) -> tuple[float, float]:
        """(0, W): agent positions are cells (x, y), 0 <= x, y < W."""
        return 0.0, float(self.map_size)

    @property
    def agent_teams(self) -> np.ndarray:
        """i32[N]: the env's agents' teams (`teams[:N]`)."""
        return self.teams[: self.num_agents]

    def max_agents_in_square(self, side: float) -> int:
        """A live agent fills its cell alone: a square of side s holds ceil(s)^2 cells."""
        return min(math.ceil(side) ** 2, 2 * self.agents_per_side)

    def global_state(self, state: BattleState, obs: jax.Array) -> jax.Array:
        """f32[W * W * 5]: the whole map (wall, team-0 presence and HP, team-1 presence and
        HP) in [0, 1], magent2's `state()` channels, flattened."""
        del obs
        cells = map_interior(self._maps(state), self.map_size, self.view_radius)
        return cells.reshape(-1).astype(jnp.float32) * jnp.float32(1.0 / 255.0)

    def render(self, state: BattleState) -> jax.Array:
        return render_state(map_interior(self._maps(state), self.map_size, self.view_radius))
