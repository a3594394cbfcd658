"""bandit_k: Bernoulli multi-armed bandits, the first benchmark of RL² (Duan et al. 2016)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
from flax import struct

from marlax.envs.base import Info
from marlax.envs.meta.family import TaskFamily
from marlax.envs.meta.render import PULL_COLOURS, draw_bars
from marlax.envs.spaces import Box, Discrete, Space
from marlax.validate import require_bool, require_int_at_least, require_positive_int


@struct.dataclass
class State:
    """One bandit_k episode (k = num_arms)."""

    task: jax.Array  # f32[k] each arm's success probability
    last_arm: jax.Array  # i32[] the previous pull, -1 before the first
    last_reward: jax.Array  # f32[] the previous reward, 0 before the first pull
    step: jax.Array  # i32[] pulls so far


@dataclass(frozen=True)
class BanditK(TaskFamily):
    """k Bernoulli arms with hidden success probabilities; each step pulls one arm.

    As RL²'s bandit experiments (Duan et al. 2016, section 3.1): a task draws every arm's
    probability i.i.d. uniform in [0, 1], and a pull of arm a pays 1 with probability
    p_a, else 0. Like `nback`, the observation holds the previous action and reward, so
    a recurrent policy can learn within one episode; RL² trials of several episodes
    (`TrialEnv`) add memory across them.

    - **task** f32[k]: the arms' probabilities.
    - **obs** `f32[1, k + 1]`: one-hot of the previous arm (zeros at t = 0), then the
      previous reward (0 at t = 0); `f32[1, 2k + 1]` with `reveal_task`, the k
      probabilities appended. Every entry lies in [0, 1].
    - **actions** `i32[1]` in `Discrete(k)`: the arm to pull.
    - **reward** `f32[1]`: Bernoulli(p_arm), drawn from the step key.
    - **termination** never; the episode is truncated after `max_steps` pulls.
    - **state** `State`: task f32[k], last_arm i32[], last_reward f32[], step i32[].
    """

    name: ClassVar[str] = "bandit_k"

    num_arms: int = 5
    """Number of arms k (at least 2, else there is nothing to choose)."""
    max_steps: int = 10
    """Pulls per episode."""
    reveal_task: bool = False
    """Append the arms' probabilities to the observation (the oracle knows the best arm)."""

    def __post_init__(self) -> None:
        require_int_at_least("num_arms", self.num_arms, 2)
        require_positive_int("max_steps", self.max_steps)
        require_bool("reveal_task", self.reveal_task)

    @property
    def num_agents(self) -> int:
        return 1

    @property
    def observation_space(self) -> Space:
        extra = self.num_arms if self.reveal_task else 0
        return Box(0.0, 1.0, (self.num_arms + 1 + extra,))

    @property
    def action_space(self) -> Space:
        return Discrete(self.num_arms)

    @property
    def task_size(self) -> int:
        return self.num_arms

    def sample_task(self, key: jax.Array) -> jax.Array:
        """f32[k]: arm probabilities i.i.d. uniform in [0, 1]."""
        return jax.random.uniform(key, (self.num_arms,))

    def task_features(self, task: jax.Array) -> jax.Array:
        return jnp.asarray(task, jnp.float32)

    def reset_to_task(self, key: jax.Array, task: jax.Array) -> tuple[jax.Array, State]:
        del key  # nothing is random before the first pull
        state = State(
            task=jnp.asarray(task, jnp.float32),
            last_arm=jnp.asarray(-1, jnp.int32),
            last_reward=jnp.asarray(0.0, jnp.float32),
            step=jnp.asarray(0, jnp.int32),
        )
        return self._observe(state), state

    def _step(
        self, key: jax.Array, state: State, actions: jax.Array
    ) -> tuple[jax.Array, State, jax.Array, jax.Array, Info]:
        """Pull arm `actions[0]`: reward 1 with its probability."""
        arm = actions.reshape(()).astype(jnp.int32)
        reward = jax.random.bernoulli(key, state.task[arm]).astype(jnp.float32)
        state = state.replace(last_arm=arm, last_reward=reward, step=state.step + 1)
        return self._observe(state), state, reward[None], jnp.asarray(False), {}

    def _observe(self, state: State) -> jax.Array:
        """f32[1, D]: one-hot previous arm, previous reward (and the probabilities)."""
        # one_hot of -1 (no pull yet) is all zeros
        arm = jax.nn.one_hot(state.last_arm, self.num_arms, dtype=jnp.float32)
        parts = [arm, state.last_reward[None]]
        if self.reveal_task:
            parts.append(state.task)
        return jnp.concatenate(parts)[None, :]

    def render(self, state: State) -> jax.Array:
        """One bar per arm, as tall as its probability; the last pulled arm green if it
        paid, red if not: u8[128, 32k, 3]."""
        colours = jnp.asarray(PULL_COLOURS, jnp.float32)
        return draw_bars(
            state.task, state.last_arm, colours[(state.last_reward > 0).astype(jnp.int32)]
        )
