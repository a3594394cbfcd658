"""LogWrapper: episode returns and lengths, reported when an episode ends.

The one episode logger of marlax: PPO's rollout steps `LogWrapper(VectorEnv(env))` and reads
its episode metrics from the `returned_episode*` fields below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.envs.base import StepResult
from marlax.envs.wrappers.base import Wrapper


@struct.dataclass
class LogState:
    """Env state plus running episode statistics ([*B] = any batch axes)."""

    env_state: Any
    episode_return: jax.Array  # f32[*B, N] return of the running episode, per agent
    episode_length: jax.Array  # i32[*B] steps of the running episode
    returned_episode_return: jax.Array  # f32[*B, N] return of the last finished episode
    returned_episode_length: jax.Array  # i32[*B] length of the last finished episode


@dataclass(frozen=True)
class LogWrapper(Wrapper):
    """Tracks episode returns and lengths; put it outside `AutoReset` or `VectorEnv`.

    Adds to `info`: `returned_episode` (bool[*B], an episode ended this step),
    `returned_episode_return` (f32[*B, N]) and `returned_episode_length` (i32[*B]).
    Works per env (under `vmap`) and on a `VectorEnv` batch alike.
    """

    def reset(self, key: jax.Array) -> tuple[jax.Array, LogState]:
        obs, env_state = self.env.reset(key)
        batch = obs.shape[: obs.ndim - 1 - len(self.observation_space.shape)]
        returns = jnp.zeros((*batch, self.num_agents), jnp.float32)
        lengths = jnp.zeros(batch, jnp.int32)
        return obs, LogState(env_state, returns, lengths, returns, lengths)

    def step(self, key: jax.Array, state: LogState, actions: jax.Array) -> StepResult:
        obs, env_state, reward, done, info = self.env.step(key, state.env_state, actions)
        episode_return = state.episode_return + reward
        episode_length = state.episode_length + 1
        done_agents = done[..., None]
        new_state = LogState(
            env_state=env_state,
            episode_return=jnp.where(done_agents, 0.0, episode_return),
            episode_length=jnp.where(done, 0, episode_length),
            returned_episode_return=jnp.where(
                done_agents, episode_return, state.returned_episode_return
            ),
            returned_episode_length=jnp.where(done, episode_length, state.returned_episode_length),
        )
        info = {
            **info,
            "returned_episode": done,
            "returned_episode_return": new_state.returned_episode_return,
            "returned_episode_length": new_state.returned_episode_length,
        }
        return obs, new_state, reward, done, info
