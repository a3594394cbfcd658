"""Variable n-back: say whether the value now equals the one n steps ago, for a hidden n."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Env, Info
from marlax.envs.nback.generator import match_label, sample_episode
from marlax.envs.nback.render import render_state
from marlax.envs.nback.types import State
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import require_int_at_least, require_positive_int

NUM_ACTIONS = 2  # 0 = no match, 1 = match


@dataclass(frozen=True)
class NBack(Env):
    """Variable n-back memory task for one agent (after gabe00122/jaxrl `NBackMemory`).

    Each episode draws a hidden lag `n` uniform in [0, max_n) and a sequence of values
    uniform in [0, max_value). At step t the agent sees value `x_t` and answers whether
    `x_t == x_{t-n}`; before t = n the correct answer is "no match". Since n is never
    shown, the agent must infer it from feedback: like the reference, whose time step
    carries `last_action` and `last_reward` next to the one-hot value, the observation
    holds the previous action and reward (together they reveal the previous label).

    - **obs** `f32[1, max_value + 3]`: `one_hot(x_t, max_value)`, then
      `one_hot(previous action, 2)` (all zero at t = 0), then the previous reward
      (0 at t = 0). Every entry lies in [0, 1].
    - **actions** `i32[1]` in `Discrete(2)`: 0 no match, 1 match.
    - **reward** `f32[1]`: 1 when `action == (t >= n and x_t == x_{t-n})`, else 0.
    - **termination** never; the episode is truncated after `max_steps` answers
      (the reference ends it after its `length`, the same count).
    - **state** `State`: values i32[max_steps + 1], n i32[], last_action i32[],
      last_reward f32[], step i32[] (the index of the value shown now).
    """

    name: ClassVar[str] = "nback"

    max_n: int = 12
    """The hidden lag n is uniform in [0, max_n); n = 0 makes every answer "match"."""
    max_value: int = 2
    """Values are uniform in [0, max_value); at least 2, else the sequence says nothing."""
    max_steps: int = 128
    """Episode length: answers per episode (the reference's nback config uses 128)."""

    def __post_init__(self) -> None:
        require_positive_int("max_n", self.max_n)
        # one value would make every sequence the same
        require_int_at_least("max_value", self.max_value, 2)
        require_positive_int("max_steps", self.max_steps)

    # ---- spaces ------------------------------------------------------------------
    @property
    def num_agents(self) -> int:
        return 1

    @property
    def obs_dim(self) -> int:
        """Length D of the observation: max_value + 2 (previous action) + 1 (previous reward)."""
        return self.max_value + NUM_ACTIONS + 1

    @property
    def observation_space(self) -> Space:
        return Box(0.0, 1.0, (self.obs_dim,))

    @property
    def action_space(self) -> Space:
        return Discrete(NUM_ACTIONS)

    # ---- dynamics ----------------------------------------------------------------
    def reset(self, key: jax.Array) -> tuple[jax.Array, State]:
        """Draw n and the values; obs f32[1, D] shows `x_0`."""
        n, values = sample_episode(key, self.max_n, self.max_value, self.max_steps + 1)
        state = State(
            values=values,
            n=n,
            last_action=jnp.asarray(-1, jnp.int32),
            last_reward=jnp.asarray(0.0, jnp.float32),
            step=jnp.asarray(0, jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Judge the answer to `x_t`, then show `x_{t+1}`; actions i32[1]."""
        del key  # the episode was drawn at reset
        action = actions.reshape(()).astype(jnp.int32)
        label = match_label(state.values, state.n, state.step)
        reward = (action == label.astype(jnp.int32)).astype(jnp.float32)
        state = state.replace(last_action=action, last_reward=reward, step=state.step + 1)
        return (
            self._observe(state),
            state,
            reward[None],
            jnp.asarray(False),
            {"label": label},
        )

    def _observe(self, state: State) -> jax.Array:
        """f32[1, D]: one-hot value now, one-hot previous action, previous reward."""
        # the index is clipped, so stepping past the sequence (no auto-reset) repeats x_T
        value_now = state.values[jnp.minimum(state.step, self.max_steps)]
        value = jax.nn.one_hot(value_now, self.max_value, dtype=jnp.float32)
        # one_hot of -1 (no action yet) is all zeros
        action = jax.nn.one_hot(state.last_action, NUM_ACTIONS, dtype=jnp.float32)
        return jnp.concatenate([value, action, state.last_reward[None]])[None, :]

    def render(self, state: State) -> jax.Array:
        """The last values, the current one outlined: u8[64, 512, 3]."""
        return render_state(state, self.max_value)
