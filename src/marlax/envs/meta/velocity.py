"""velocity_point: a 1-D point mass that must hold a hidden target velocity (HalfCheetah-vel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.envs.base import Info
from marlax.envs.meta.family import TaskFamily
from marlax.envs.meta.render import draw_track
from marlax.envs.spaces import Box, Space
from marlax.validate import (
    require,
    require_bool,
    require_non_negative,
    require_number,
    require_positive,
    require_positive_int,
)

TRACK_LENGTH = 10.0
"""The picture wraps the position around a track this long (position units)."""


@struct.dataclass
class State:
    """One velocity_point episode."""

    position: jax.Array  # f32[] distance travelled (only drawn: nothing depends on it)
    velocity: jax.Array  # f32[]
    task: jax.Array  # f32[] the target velocity
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class VelocityPoint(TaskFamily):
    """A point mass on a line must run at a target velocity it is not shown.

    A CPU-sized stand-in for HalfCheetah-vel (Finn et al. 2017, section 5.3): the task is a
    target velocity uniform in [target_low, target_high] ([0, 2] by default), the reward
    is minus the velocity error minus a control cost, and the observation hides the
    target, so the agent infers it from rewards. Each step (semi-implicit Euler, mass 1):

        force     = clip(action, -1, 1)
        velocity += dt * (max_accel * force - drag * velocity)
        position += dt * velocity                     (with the new velocity)
        reward    = -|velocity - target| - ctrl_cost * force^2

    With the defaults (dt 0.1, max_accel 3, drag 0.5) full force reaches speed 2 in
    8 steps from rest, and the top speed is max_accel / drag = 6, so every target in
    [0, 2] (and in a shifted range up to 6) can be held; `ctrl_cost` 0.05 is
    HalfCheetah-vel's.

    - **task** f32[]: the target velocity.
    - **obs** `f32[1, 1]`: the velocity (`f32[1, 2]`, velocity then target, with
      `reveal_task`). The position is left out as HalfCheetah leaves out its x
      coordinate: neither reward nor dynamics depend on it, and velocity alone is Markov.
    - **actions** `f32[1, 1]` in `Box(-1, 1, (1,))`, the force; values outside are clipped.
    - **reward** `f32[1]`: as above, with the velocity after the step.
    - **termination** never; the episode is truncated after `max_steps` steps.
    - **state** `State`: position f32[], velocity f32[], task f32[], step i32[]; every
      episode starts at rest at 0.
    """

    name: ClassVar[str] = "velocity_point"

    target_low: float = 0.0
    """Targets are uniform in [target_low, target_high] (any finite range: shifts go outside)."""
    target_high: float = 2.0
    """Upper end of the target range; at least target_low (equal: one fixed target)."""
    dt: float = 0.1
    """Integration time step."""
    max_accel: float = 3.0
    """Acceleration at full force (|action| = 1)."""
    drag: float = 0.5
    """Linear drag: deceleration per unit of velocity."""
    ctrl_cost: float = 0.05
    """Weight of the control cost `force^2` (HalfCheetah-vel's 0.05)."""
    max_steps: int = 100
    reveal_task: bool = False
    """Append the target velocity to the observation (the task-conditioned oracle)."""

    def __post_init__(self) -> None:
        require_number("target_low", self.target_low)
        require_number("target_high", self.target_high)
        require(
            self.target_high >= self.target_low,
            "target_high",
            self.target_high,
            f"a number >= target_low ({self.target_low:g})",
        )
        require_positive("dt", self.dt)
        require_positive("max_accel", self.max_accel)
        require_non_negative("drag", self.drag)
        require_non_negative("ctrl_cost", self.ctrl_cost)
        require_positive_int("max_steps", self.max_steps)
        require_bool("reveal_task", self.reveal_task)

    @property
    def num_agents(self) -> int:
        return 1

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, (2 if self.reveal_task else 1,))

    @property
    def action_space(self) -> Space:
        return Box(-1.0, 1.0, (1,))

    @property
    def task_size(self) -> int:
        return 1

    def sample_task(self, key: jax.Array) -> jax.Array:
        """f32[]: a target velocity uniform in [target_low, target_high]."""
        return jax.random.uniform(key, (), minval=self.target_low, maxval=self.target_high)

    def task_features(self, task: jax.Array) -> jax.Array:
        return jnp.asarray(task, jnp.float32).reshape(1)

    def reset_to_task(self, key: jax.Array, task: jax.Array) -> tuple[jax.Array, State]:
        del key  # every episode starts at rest at the origin
        state = State(
            position=jnp.zeros((), jnp.float32),
            velocity=jnp.zeros((), jnp.float32),
            task=jnp.asarray(task, jnp.float32).reshape(()),
            step=jnp.asarray(0, jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        del key  # deterministic dynamics
        force = jnp.clip(actions.reshape(()), -1.0, 1.0)
        velocity = state.velocity + self.dt * (self.max_accel * force - self.drag * state.velocity)
        position = state.position + self.dt * velocity
        reward = -jnp.abs(velocity - state.task) - self.ctrl_cost * jnp.square(force)
        state = state.replace(position=position, velocity=velocity, step=state.step + 1)
        return self._observe(state), state, reward[None], jnp.asarray(False), {}

    def _observe(self, state: State) -> jax.Array:
        parts = [state.velocity, state.task] if self.reveal_task else [state.velocity]
        return jnp.stack(parts)[None, :]

    def render(self, state: State) -> jax.Array:
        """The mass on a looping track, and its speed (blue bar) against the target (green
        tick) on a gauge twice the widest target (at least 1): u8[64, 256, 3]."""
        widest = max(abs(self.target_low), abs(self.target_high), 0.5)
        gauge = jnp.maximum(2.0 * widest, 1.25 * jnp.abs(state.task))
        return draw_track(
            jnp.mod(state.position, TRACK_LENGTH) / TRACK_LENGTH,
            jnp.abs(state.velocity) / gauge,
            jnp.abs(state.task) / gauge,
        )
