"""MPE cooperative navigation (`simple_spread`), step-for-step equal to mpe2 `simple_spread_v3`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env, Info
from marlax.envs.simple_spread import physics
from marlax.envs.simple_spread.constants import AGENT_SIZE, DIM_C, NUM_MOVES
from marlax.envs.simple_spread.render import render_state
from marlax.envs.simple_spread.types import State
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import require, require_bool, require_number, require_positive_int


@dataclass(frozen=True)
class SimpleSpread(Env):
    """N agents must cover N landmarks without bumping into each other (mpe2 `simple_spread_v3`).

    - **obs** `f32[N, 4 + 2N + 4(N-1)]`, per agent (mpe2's order): own velocity (2), own
      position (2), landmark positions relative to the agent (2N), other agents' positions
      relative to the agent in index order (2(N-1)), other agents' communication (2(N-1),
      always zero: agents are silent).
    - **actions** `i32[N]` in `Discrete(5)` (no-op, left, right, down, up) or, with
      `continuous_actions`, `f32[N, 5]` in `Box(0, 1, (5,))` whose force is
      `5 * (a2 - a1, a4 - a3)` (values are clipped to [0, 1] as mpe2 does).
    - **reward** `f32[N]`: `local_ratio * local_i + (1 - local_ratio) * global`, where
      `local_i = -(number of other agents closer than 0.3)` and
      `global = -sum over landmarks of the distance to the nearest agent`.
    - **termination** never; the episode is truncated after `max_steps` steps.
    - **state** `State`: agent_pos f32[N, 2], agent_vel f32[N, 2], landmark_pos f32[N, 2],
      step i32[].
    """

    name: ClassVar[str] = "simple_spread"

    num_agents: int = 3
    """Number of agents N, also the number of landmarks."""
    local_ratio: float = 0.5
    """Weight of the local (collision) reward; the global (coverage) reward gets 1 - it."""
    max_steps: int = 25
    """Episode length (mpe2 `max_cycles`)."""
    continuous_actions: bool = False
    """Actions are f32[N, 5] in [0, 1] instead of i32[N] in 0..4."""
    render_size: int = 256
    """Side of the rendered square image in pixels; a multiple of 16."""

    def __post_init__(self) -> None:
        require_positive_int("num_agents", self.num_agents)
        require_positive_int("max_steps", self.max_steps)
        require_number("local_ratio", self.local_ratio, 0.0, 1.0)
        require_bool("continuous_actions", self.continuous_actions)
        require_positive_int("render_size", self.render_size)
        require(self.render_size % 16 == 0, "render_size", self.render_size, "a multiple of 16")

    # ---- spaces ------------------------------------------------------------------
    @property
    def obs_dim(self) -> int:
        """Length D of one agent's observation: 4 + 2N + 2(N-1) + DIM_C(N-1)."""
        n = self.num_agents
        return 4 + 2 * n + 2 * (n - 1) + DIM_C * (n - 1)

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, (self.obs_dim,), "float32")

    @property
    def action_space(self) -> Space:
        if self.continuous_actions:
            return Box(0.0, 1.0, (NUM_MOVES,), "float32")
        return Discrete(NUM_MOVES)

    # ---- API ---------------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, State]:
        """Agents and landmarks uniform in [-1, 1]^2, at rest (mpe2 `reset_world`).

        Returns:
            obs f32[N, D]; State.
        """
        agent_key, landmark_key = jax.random.split(key)
        shape = (self.num_agents, 2)
        state = State(
            agent_pos=jax.random.uniform(agent_key, shape, minval=-1.0, maxval=1.0),
            agent_vel=jnp.zeros(shape, jnp.float32),
            landmark_pos=jax.random.uniform(landmark_key, shape, minval=-1.0, maxval=1.0),
            step=jnp.zeros((), jnp.int32),
        )
        return self.observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Move every agent one physics step, then observe and score (mpe2 order).

        Args:
            key: unused (the dynamics are deterministic).
            state: State.
            actions: i32[N] or f32[N, 5].
        """
        del key
        decode = (
            physics.continuous_action_force
            if self.continuous_actions
            else physics.discrete_action_force
        )
        agent_index = jnp.arange(self.num_agents)
        force = jax.vmap(decode)(actions) + jax.vmap(physics.contact_force, in_axes=(0, None))(
            agent_index, state.agent_pos
        )
        agent_pos, agent_vel = jax.vmap(physics.integrate)(state.agent_pos, state.agent_vel, force)
        state = state.replace(agent_pos=agent_pos, agent_vel=agent_vel, step=state.step + 1)
        return self.observe(state), state, self.reward(state), jnp.zeros((), bool), {}

    def observe(self, state: State) -> jax.Array:
        """Every agent's observation: f32[N, D] (see the class docstring for the layout)."""
        n = self.num_agents
        # OTHERS[i] = the other agents of i in index order: i32[N, N-1], a constant
        others = np.array([[j for j in range(n) if j != i] for i in range(n)], np.int32)
        others = others.reshape(n, n - 1)

        def _one(agent_index: jax.Array, other_index: jax.Array) -> jax.Array:
            own_pos = state.agent_pos[agent_index]
            return jnp.concatenate(
                [
                    state.agent_vel[agent_index],
                    own_pos,
                    (state.landmark_pos - own_pos[None, :]).reshape(-1),
                    (state.agent_pos[other_index] - own_pos[None, :]).reshape(-1),
                    jnp.zeros(DIM_C * (n - 1), jnp.float32),
                ]
            )

        return jax.vmap(_one)(jnp.arange(n), jnp.asarray(others))

    def reward(self, state: State) -> jax.Array:
        """`local_ratio * local + (1 - local_ratio) * global` per agent: f32[N]."""
        agent_pos = state.agent_pos
        delta = agent_pos[:, None, :] - agent_pos[None, :, :]  # f32[N, N, 2]
        agent_dist = jnp.sqrt(jnp.sum(jnp.square(delta), axis=-1))
        is_other = ~jnp.eye(self.num_agents, dtype=bool)
        collisions = jnp.sum((agent_dist < 2 * AGENT_SIZE) & is_other, axis=1)
        to_landmark = state.landmark_pos[:, None, :] - agent_pos[None, :, :]  # f32[L, N, 2]
        landmark_dist = jnp.sqrt(jnp.sum(jnp.square(to_landmark), axis=-1))
        global_reward = -jnp.sum(jnp.min(landmark_dist, axis=1))
        local_reward = -collisions.astype(jnp.float32)
        return self.local_ratio * local_reward + (1.0 - self.local_ratio) * global_reward

    def global_state(self, state: State, obs: jax.Array) -> jax.Array:
        """Positions and velocities of everything: f32[6N] = agent pos, agent vel, landmark pos."""
        del obs
        return jnp.concatenate(
            [
                state.agent_pos.reshape(-1),
                state.agent_vel.reshape(-1),
                state.landmark_pos.reshape(-1),
            ]
        ).astype(jnp.float32)

    def tasks(self, state: State) -> tuple[jax.Array, jax.Array]:
        """The landmarks, what an assignment layer assigns agents to: (landmark positions
        f32[N, 2], valid bool[N], all True)."""
        return state.landmark_pos.astype(jnp.float32), jnp.ones((self.num_agents,), bool)

    def render(self, state: State) -> jax.Array:
        """Agents (blue, radius 0.15) and landmarks (grey, radius 0.05): u8[S, S, 3]."""
        return render_state(state, self.render_size)
