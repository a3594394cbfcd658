"""spread_family: MPE cooperative navigation whose landmark layout and agent speeds are a task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.base import Info
from marlax.envs.meta.family import TaskFamily
from marlax.envs.simple_spread import physics
from marlax.envs.simple_spread.env import SimpleSpread
from marlax.envs.simple_spread.types import State as SpreadState
from marlax.envs.spaces import Box, Space
from marlax.validate import require, require_bool, require_number, require_positive


@struct.dataclass
class SpreadTask:
    """One spread_family task (N agents, N landmarks)."""

    landmark_pos: jax.Array  # f32[N, 2] landmark positions, the same in every episode
    speed: jax.Array  # f32[N] each agent's acceleration multiplier


@struct.dataclass
class State:
    """One spread_family episode."""

    agent_pos: jax.Array  # f32[N, 2]
    agent_vel: jax.Array  # f32[N, 2]
    task: SpreadTask
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class SpreadFamily(TaskFamily):
    """simple_spread (`SimpleSpread`) whose landmark layout and agent speeds are drawn per task.

    A task fixes (a) the N landmark positions, uniform in [-landmark_range,
    landmark_range]^2, for every episode of the task, and (b) a speed multiplier per
    agent, uniform in [speed_low, speed_high], that scales the force of that agent's
    action (mpe2's per-agent `accel`; the physics has no speed limit to scale). Agents
    start uniform in [-1, 1]^2 at rest in every episode, as in simple_spread. The
    physics, reward and observation are simple_spread's own functions, so with speeds
    [1, 1], `show_landmarks` and the same landmark positions an episode equals
    simple_spread's step for step (the agents' start uses the same key split).

    By default the landmarks are hidden from the observation (simple_spread shows
    them), so a team must find them from the coverage reward and learn who is fast.

    - **task** `SpreadTask`: landmark_pos f32[N, 2], speed f32[N];
      `task_features` = f32[3N]: landmark positions (x0, y0, x1, ...) then the speeds.
    - **obs** `f32[N, D]`, per agent, simple_spread's layout without its landmark block:
      own velocity (2), own position (2), other agents' positions relative to the agent
      (2(N-1)), their silent communication (2(N-1), zeros): D = 4N. With
      `show_landmarks` the landmark positions relative to the agent (2N) sit after the
      own position, as in simple_spread: D = 6N. `reveal_task` appends, per agent, the
      landmark positions (2N, absolute), the agent's own speed, then the other agents'
      speeds in index order (N-1): the task features seen from that agent (agent 0
      sees exactly `task_features`).
    - **actions** `i32[N]` in `Discrete(5)` or `f32[N, 5]` with `continuous_actions`
      (simple_spread's); agent i's action force is multiplied by `speed[i]`.
    - **reward** `f32[N]`: simple_spread's (`local_ratio` collisions + global coverage).
    - **termination** never; the episode is truncated after `max_steps` steps.
    - **state** `State`: agent_pos f32[N, 2], agent_vel f32[N, 2], task, step i32[].
    """

    name: ClassVar[str] = "spread_family"

    num_agents: int = 3
    """Number of agents N, also the number of landmarks (as simple_spread)."""
    local_ratio: float = 0.5
    """Weight of the local (collision) reward; the global (coverage) reward gets 1 - it."""
    max_steps: int = 25
    """Episode length (simple_spread's)."""
    continuous_actions: bool = False
    """Actions are f32[N, 5] in [0, 1] instead of i32[N] in 0..4."""
    landmark_range: float = 1.0
    """Landmarks are uniform in [-landmark_range, landmark_range]^2 (simple_spread: 1)."""
    speed_low: float = 0.5
    """Speed multipliers are uniform in [speed_low, speed_high]; > 0."""
    speed_high: float = 1.5
    """Upper end of the speed range; at least speed_low (equal: every agent that speed)."""
    show_landmarks: bool = False
    """Keep simple_spread's relative landmark positions in the observation (then only the
    speeds are hidden)."""
    reveal_task: bool = False
    """Append the task seen from each agent to its observation (the oracle)."""
    render_size: int = 256
    """Side of the rendered square image in pixels; a multiple of 16."""

    def __post_init__(self) -> None:
        _ = self.spread  # building it validates the settings shared with simple_spread
        require_positive("landmark_range", self.landmark_range)
        require_positive("speed_low", self.speed_low)
        require_number("speed_high", self.speed_high)
        require(
            self.speed_high >= self.speed_low,
            "speed_high",
            self.speed_high,
            f"a number >= speed_low ({self.speed_low:g})",
        )
        require_bool("show_landmarks", self.show_landmarks)
        require_bool("reveal_task", self.reveal_task)

    @property
    def spread(self) -> SimpleSpread:
        """The simple_spread whose physics, reward, observation and picture this env uses."""
        return SimpleSpread(
            num_agents=self.num_agents,
            local_ratio=self.local_ratio,
            max_steps=self.max_steps,
            continuous_actions=self.continuous_actions,
            render_size=self.render_size,
        )

    # ---- spaces ------------------------------------------------------------------
    @property
    def obs_dim(self) -> int:
        """Length D of one agent's observation (see the class docstring)."""
        hidden = 0 if self.show_landmarks else 2 * self.num_agents
        revealed = self.task_size if self.reveal_task else 0
        return self.spread.obs_dim - hidden + revealed

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, (self.obs_dim,), "float32")

    @property
    def action_space(self) -> Space:
        return self.spread.action_space

    @property
    def task_size(self) -> int:
        return 3 * self.num_agents

    # ---- tasks -------------------------------------------------------------------
    def sample_task(self, key: jax.Array) -> SpreadTask:
        """A landmark layout f32[N, 2] and agent speeds f32[N]."""
        landmark_key, speed_key = jax.random.split(key)
        reach = self.landmark_range
        return SpreadTask(
            landmark_pos=jax.random.uniform(
                landmark_key, (self.num_agents, 2), minval=-reach, maxval=reach
            ),
            speed=jax.random.uniform(
                speed_key, (self.num_agents,), minval=self.speed_low, maxval=self.speed_high
            ),
        )

    def task_features(self, task: SpreadTask) -> jax.Array:
        """f32[3N]: landmark positions flattened, then the speeds."""
        return jnp.concatenate([task.landmark_pos.reshape(-1), task.speed]).astype(jnp.float32)

    def reset_to_task(self, key: jax.Array, task: SpreadTask) -> tuple[jax.Array, State]:
        """Agents uniform in [-1, 1]^2 at rest, from simple_spread's own reset key split."""
        agent_key, _ = jax.random.split(key)  # simple_spread's second key draws landmarks
        shape = (self.num_agents, 2)
        state = State(
            agent_pos=jax.random.uniform(agent_key, shape, minval=-1.0, maxval=1.0),
            agent_vel=jnp.zeros(shape, jnp.float32),
            task=jax.tree.map(lambda leaf: jnp.asarray(leaf, jnp.float32), task),
            step=jnp.zeros((), jnp.int32),
        )
        return self._observe(state), state

    # ---- dynamics ----------------------------------------------------------------
    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """simple_spread's physics step with each action force scaled by the agent's speed."""
        del key  # the dynamics are deterministic
        decode = (
            physics.continuous_action_force
            if self.continuous_actions
            else physics.discrete_action_force
        )
        action_force = jax.vmap(decode)(actions) * state.task.speed[:, None]
        contact = jax.vmap(physics.contact_force, in_axes=(0, None))(
            jnp.arange(self.num_agents), state.agent_pos
        )
        agent_pos, agent_vel = jax.vmap(physics.integrate)(
            state.agent_pos, state.agent_vel, action_force + contact
        )
        state = state.replace(agent_pos=agent_pos, agent_vel=agent_vel, step=state.step + 1)
        reward = self.spread.reward(spread_state(state))
        return self._observe(state), state, reward, jnp.zeros((), bool), {}

    def _observe(self, state: State) -> jax.Array:
        """f32[N, D]: simple_spread's observation, landmarks dropped or kept, task appended."""
        obs = self.spread.observe(spread_state(state))
        if not self.show_landmarks:
            # simple_spread's layout: velocity (2), position (2), landmarks (2N), the rest
            obs = jnp.concatenate([obs[:, :4], obs[:, 4 + 2 * self.num_agents :]], axis=1)
        if self.reveal_task:
            obs = jnp.concatenate([obs, self._task_seen_by_each_agent(state.task)], axis=1)
        return obs

    def _task_seen_by_each_agent(self, task: SpreadTask) -> jax.Array:
        """f32[N, 3N]: landmarks, own speed, the others' speeds in index order."""
        n = self.num_agents
        # agent i's speed order: i, then the others in index order (a constant i32[N, N])
        order = np.array([[i] + [j for j in range(n) if j != i] for i in range(n)], np.int32)
        landmarks = jnp.broadcast_to(task.landmark_pos.reshape(1, -1), (n, 2 * n))
        return jnp.concatenate([landmarks, task.speed[order]], axis=1)

    def global_state(self, state: State, obs: jax.Array) -> jax.Array:
        """f32[7N]: simple_spread's (agent pos, agent vel, landmark pos), then the speeds."""
        spread_global = self.spread.global_state(spread_state(state), obs)
        return jnp.concatenate([spread_global, state.task.speed.astype(jnp.float32)])

    def render(self, state: State) -> jax.Array:
        """simple_spread's picture: u8[render_size, render_size, 3]."""
        return self.spread.render(spread_state(state))


def spread_state(state: State) -> SpreadState:
    """The simple_spread state of an episode (its landmarks are the task's)."""
    return SpreadState(
        agent_pos=state.agent_pos,
        agent_vel=state.agent_vel,
        landmark_pos=state.task.landmark_pos,
        step=state.step,
    )
