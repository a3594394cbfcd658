"""navigation_2d: Finn et al. (2017)'s point robot that must reach a goal it is not shown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.base import Info
from marlax.envs.meta.family import TaskFamily
from marlax.envs.meta.render import AGENT_COLOUR, GOAL_COLOUR, draw_discs
from marlax.envs.spaces import Box, Space
from marlax.validate import (
    require_bool,
    require_non_negative,
    require_positive,
    require_positive_int,
)


@struct.dataclass
class State:
    """One navigation_2d episode."""

    position: jax.Array  # f32[2]
    task: jax.Array  # f32[2] the goal
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class Navigation2D(TaskFamily):
    """A point in the plane, started at the origin, must reach a hidden goal.

    As `PointEnvRandGoal` of the MAML code (cbfinn/maml_rl, `rllab/envs/point_env_rand2goal`):
    the goal is uniform in [-goal_range, goal_range]^2 (0.5 by default); an action is a
    displacement clipped to [-max_action, max_action]^2 (0.1); the reward after a move is minus
    the distance to the goal; the episode ends when both coordinates are within
    `goal_tolerance` (0.01) of the goal, or after `max_steps` (100) moves.

    - **task** f32[2]: the goal.
    - **obs** `f32[1, 2]` the position (`f32[1, 4]`, position then goal, with `reveal_task`).
    - **actions** `f32[1, 2]` in `Box(-max_action, max_action, (2,))`; values outside are
      clipped (the Gaussian policy's samples are unbounded, as in the reference).
    - **reward** `f32[1]`: `-||position - goal||` after the move.
    """

    name: ClassVar[str] = "navigation_2d"

    goal_range: float = 0.5
    """Goals are uniform in [-goal_range, goal_range]^2."""
    max_action: float = 0.1
    """Each coordinate of a move is clipped to [-max_action, max_action]."""
    goal_tolerance: float = 0.01
    """The episode ends when |x - gx| and |y - gy| are both below this (0 never ends it)."""
    max_steps: int = 100
    reveal_task: bool = False
    """Append the goal to the observation (the goal-conditioned oracle)."""

    def __post_init__(self) -> None:
        require_positive("goal_range", self.goal_range)
        require_positive("max_action", self.max_action)
        require_non_negative("goal_tolerance", self.goal_tolerance)
        require_positive_int("max_steps", self.max_steps)
        require_bool("reveal_task", self.reveal_task)

    @property
    def num_agents(self) -> int:
        return 1

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, (4 if self.reveal_task else 2,))

    @property
    def action_space(self) -> Space:
        return Box(-self.max_action, self.max_action, (2,))

    @property
    def task_size(self) -> int:
        return 2

    def sample_task(self, key: jax.Array) -> jax.Array:
        """f32[2]: a goal uniform in the square."""
        return jax.random.uniform(key, (2,), minval=-self.goal_range, maxval=self.goal_range)

    def task_features(self, task: jax.Array) -> jax.Array:
        return task.astype(jnp.float32)

    def reset_to_task(self, key: jax.Array, task: jax.Array) -> tuple[jax.Array, State]:
        del key  # every episode starts at the origin
        state = State(
            position=jnp.zeros(2, jnp.float32),
            task=jnp.asarray(task, jnp.float32),
            step=jnp.asarray(0, jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        del key
        move = jnp.clip(actions.reshape(2), -self.max_action, self.max_action)
        position = state.position + move
        offset = position - state.task
        reward = -jnp.sqrt(jnp.sum(jnp.square(offset)))
        reached = jnp.all(jnp.abs(offset) < self.goal_tolerance)
        state = state.replace(position=position, step=state.step + 1)
        return self._observe(state), state, reward[None], reached, {}

    def _observe(self, state: State) -> jax.Array:
        parts = [state.position, state.task] if self.reveal_task else [state.position]
        return jnp.concatenate(parts)[None, :]

    def render(self, state: State) -> jax.Array:
        """Goal (green) and point (blue): u8[128, 128, 3]."""
        centres = jnp.stack([state.task, state.position])
        colours = jnp.asarray([GOAL_COLOUR, AGENT_COLOUR], jnp.float32)
        half_width = jnp.maximum(2.0 * self.goal_range, jnp.max(jnp.abs(centres)) * 1.1)
        return draw_discs(centres, colours, half_width, 128)
