"""POPGym's stateless cart-poles: the cart's position and the pole's angle, no velocities."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Info, StepResult
from marlax.envs.popgym.cartpole_physics import (
    THETA_THRESHOLD,
    X_THRESHOLD,
    cartpole_step,
    initial_physics,
)
from marlax.envs.popgym.common import PopGymEnv
from marlax.envs.popgym.render import render_cartpole
from marlax.envs.popgym.types import CartPoleState
from marlax.envs.spaces import Box, Discrete, Space

# popgym's observation bounds: twice the termination thresholds, per element
OBS_HIGH = (X_THRESHOLD * 2, THETA_THRESHOLD * 2)
NOISY_EPISODE_LENGTH = 200  # popgym's Noisy Medium / Hard change only the noise


@dataclass(frozen=True)
class StatelessCartPole(PopGymEnv):
    """popgym's `PositionOnlyCartPole` (popgym 1.0.7; "stateless cartpole" in the POPGym
    paper), one agent: gymnasium's CartPole-v1 dynamics, velocities hidden.

    - **obs** `f32[1, 2]`: (x, theta) of the physics state, cast to float32 as gymnasium
      does. popgym's box is per element ([-4.8, 4.8] x [-0.419, 0.419]); marlax's `Box`
      takes one scalar bound, so the space says [-4.8, 4.8] for both.
    - **actions** `i32[1]` in `Discrete(2)`: 0 push left, 1 push right.
    - **reward** `f32[1]`: 1 / L every step, the terminating one included (a full episode
      returns 1); -1 on a step that terminates again after a termination was reported
      (gymnasium's reward 0 past the end, which popgym maps to -1).
    - **termination** the cart beyond +-2.4 m or the pole beyond +-12 degrees;
      **truncation** after L steps. (popgym reports `truncated` on the L-th step even when
      it also terminates; marlax's API makes them exclusive.)
    - **state** `CartPoleState`: physics f[4], has_terminated bool[], step i32[].

    Difficulty (episode length L): easy 200, medium 400, hard 600.
    """

    name: ClassVar[str] = "popgym_stateless_cartpole"
    SETTINGS: ClassVar[dict[str, int]] = {"easy": 200, "medium": 400, "hard": 600}

    @property
    def episode_length(self) -> int:
        return self.settings

    @property
    def observation_space(self) -> Space:
        return Box(-OBS_HIGH[0], OBS_HIGH[0], (2,))

    @property
    def action_space(self) -> Space:
        return Discrete(2)

    def reset(self, key: jax.Array) -> tuple[jax.Array, CartPoleState]:
        """Draw the physics uniform in (-0.05, 0.05); obs f32[1, 2]."""
        return self.reset_from(initial_physics(key))

    def reset_from(self, physics: jax.Array) -> tuple[jax.Array, CartPoleState]:
        """Start from given physics f[4] (gymnasium's `env.state`, used to inject its draw).

        The physics keep the default float (float32, or float64 under `jax_enable_x64`).
        """
        state = CartPoleState(
            physics=jnp.asarray(physics, dtype=float),
            has_terminated=jnp.asarray(False),
            step=jnp.asarray(0, jnp.int32),
        )
        return _position_obs(state.physics), state

    def _step(
        self, key: jax.Array | None, state: CartPoleState, actions: jax.Array
    ) -> tuple[jax.Array, CartPoleState, jax.Array, jax.Array, Info]:
        """One physics step; `key` is unused (the dynamics are deterministic)."""
        del key
        physics, terminated = cartpole_step(state.physics, actions.reshape(()))
        # gymnasium pays 0 for terminating again after a reported termination; popgym maps
        # a 0 reward to -1 and every other reward to 1 / L
        reward = jnp.where(
            terminated & state.has_terminated,
            jnp.float32(-1.0),
            jnp.float32(1.0 / self.episode_length),
        )
        state = CartPoleState(
            physics=physics,
            has_terminated=state.has_terminated | terminated,
            step=state.step + 1,
        )
        return _position_obs(physics), state, reward[None], terminated, {}

    def render(self, state: CartPoleState) -> jax.Array:
        """The cart on its track and the pole: u8[96, 192, 3]."""
        return render_cartpole(state.physics.astype(jnp.float32))


@dataclass(frozen=True)
class NoisyStatelessCartPole(StatelessCartPole):
    """popgym's `NoisyPositionOnlyCartPole`: the stateless cart-pole with Gaussian noise.

    As `StatelessCartPole`, with every observation (the reset's too) replaced by
    `clip(obs + noise, -high, high)`, noise ~ N(0, sigma^2) per element in float32, high =
    (4.8, 0.419) (popgym's per-element box). L = 200 for every difficulty (popgym's Medium
    and Hard set only the noise).

    Difficulty (noise sigma): easy 0.1, medium 0.2, hard 0.3.
    """

    name: ClassVar[str] = "popgym_noisy_stateless_cartpole"
    SETTINGS: ClassVar[dict[str, float]] = {"easy": 0.1, "medium": 0.2, "hard": 0.3}

    @property
    def episode_length(self) -> int:
        return NOISY_EPISODE_LENGTH

    @property
    def noise_sigma(self) -> float:
        """Standard deviation of the observation noise."""
        return self.settings

    def observation_noise(self, key: jax.Array) -> jax.Array:
        """f32[2]: one draw of the observation noise."""
        return self.noise_sigma * jax.random.normal(key, (2,), dtype=jnp.float32)

    def reset(self, key: jax.Array) -> tuple[jax.Array, CartPoleState]:
        """Draw the physics, then the noise of the first observation; obs f32[1, 2]."""
        physics_key, noise_key = jax.random.split(key)
        return self.reset_from(initial_physics(physics_key), self.observation_noise(noise_key))

    def reset_from(
        self, physics: jax.Array, noise: jax.Array | None = None
    ) -> tuple[jax.Array, CartPoleState]:
        """Start from given physics f[4] and first-observation noise f32[2] (zero if None)."""
        obs, state = super().reset_from(physics)
        return _add_noise(obs, _noise_or_zero(noise)), state

    def step(self, key: jax.Array, state: CartPoleState, actions: jax.Array) -> StepResult:
        """`StatelessCartPole.step`, then noise drawn from `key` on the observation."""
        return self.step_with_noise(state, actions, self.observation_noise(key))

    def step_with_noise(
        self, state: CartPoleState, actions: jax.Array, noise: jax.Array
    ) -> StepResult:
        """`step` with the observation noise f32[2] given (used to inject popgym's draws)."""
        obs, state, reward, done, info = super().step(None, state, actions)
        return _add_noise(obs, noise), state, reward, done, info


def _position_obs(physics: jax.Array) -> jax.Array:
    """f32[1, 2]: (x, theta), cast to float32 as gymnasium casts its observation."""
    return jnp.stack([physics[0], physics[2]]).astype(jnp.float32)[None, :]


def _noise_or_zero(noise: jax.Array | None) -> jax.Array:
    return jnp.zeros((2,), jnp.float32) if noise is None else jnp.asarray(noise, jnp.float32)


def _add_noise(obs: jax.Array, noise: jax.Array) -> jax.Array:
    """popgym's `clip(obs + noise, low, high)`: f32[1, 2], noise f32[2]."""
    high = jnp.asarray(OBS_HIGH, jnp.float32)
    return jnp.clip(obs + noise[None, :], -high[None, :], high[None, :])
