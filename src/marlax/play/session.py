"""A played episode on the host: one jitted tick per frame (others act randomly, auto-reset)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env
from marlax.envs.grid.render import draw_cell_outline, render_grid
from marlax.envs.grid.tiles import NUM_TILES, NUM_UNITS
from marlax.envs.spaces import Box
from marlax.errors import ConfigError
from marlax.play.policy import random_actions, with_controlled_agent
from marlax.play.record import EpisodeReturn

POV_OUTLINE = (255, 200, 0)


class PlaySession:
    """The env state, key and running returns of a played episode.

    Attributes:
        state: the env State after the last tick (a fresh episode after `done`).
        frame: u8[H, W, 3] picture of `state`.
        pov_view: u8[h, w, 3] picture of the controlled agent's egocentric view, or None
            when the env's observations are not grid-world crops.
        episodes: finished episodes' returns.
    """

    def __init__(self, env: Env, key: jax.Array, pov: int = 0):
        if not (isinstance(pov, int) and 0 <= pov < env.num_agents):
            raise ConfigError("pov", pov, f"an agent index in [0, {env.num_agents})")
        self.env = env
        self.pov = pov
        key, reset_key = jax.random.split(key)
        self._key = key
        obs, self.state = _jitted_reset(env, reset_key)
        self.frame, self.pov_view = _pictures(*_jitted_draw(env, pov, obs, self.state))
        self.episodes: list[EpisodeReturn] = []
        self._returns = np.zeros(env.num_agents, np.float32)
        self._length = 0
        self._obs = obs

    def step(self, action_id: int) -> bool:
        """Advance one step with `action_id` for the controlled agent; True if an episode ended."""
        self._key, tick_key = jax.random.split(self._key)
        self._obs, self.state, reward, done, frame, view = _jitted_tick(
            self.env, self.pov, tick_key, self._obs, self.state, jnp.asarray(action_id, jnp.int32)
        )
        self.frame, self.pov_view = _pictures(frame, view)
        self._returns += np.asarray(reward)
        self._length += 1
        if bool(done):
            self.episodes.append(EpisodeReturn(self._returns.copy(), self._length, True))
            self._returns[:] = 0.0
            self._length = 0
        return bool(done)

    def unfinished(self) -> EpisodeReturn | None:
        """Returns of the running episode, if it has taken a step."""
        if self._length == 0:
            return None
        return EpisodeReturn(self._returns.copy(), self._length, False)


def _pictures(frame: jax.Array, view: jax.Array | None) -> tuple[np.ndarray, np.ndarray | None]:
    return np.asarray(frame), None if view is None else np.asarray(view)


def _tick(
    env: Env, pov: int, key: jax.Array, obs: jax.Array, state: Any, action_id: jax.Array
) -> tuple[Any, ...]:
    """One frame: random legal actions for the others, `action_id` for `pov`, auto-reset, draw.

    Returns:
        obs, state, reward f32[N], done bool[], frame u8[H, W, 3], pov view u8[h, w, 3] or None.
    """
    action_key, step_key, reset_key = jax.random.split(key, 3)
    actions = with_controlled_agent(env, random_actions(action_key, env, state), pov, action_id)
    obs, state, reward, done, _ = env.step(step_key, state, actions)
    # a new episode starts in the frame after the one that ended
    obs, state = jax.lax.cond(done, lambda: env.reset(reset_key), lambda: (obs, state))
    return (obs, state, reward, done, *_draw(env, pov, obs, state))


def _draw(env: Env, pov: int, obs: jax.Array, state: Any) -> tuple[jax.Array, jax.Array | None]:
    """The env's picture and, for grid-world observations, the pov agent's view."""
    frame = env.render(state)
    if not has_grid_view(env):
        return frame, None
    view = obs[pov]
    size = view.shape[0]
    cell_px = max(4, frame.shape[0] // size // 4 * 4)
    picture = render_grid(
        jnp.clip(view[..., 0], 0, NUM_TILES - 1), jnp.clip(view[..., 1], 0, NUM_UNITS - 1), cell_px
    )
    centre = jnp.array([size // 2, view.shape[1] // 2], jnp.int32)
    return frame, draw_cell_outline(picture, centre, view.shape[1], cell_px, POV_OUTLINE)


def _reset(env: Env, key: jax.Array) -> tuple[jax.Array, Any]:
    return env.reset(key)


# compiled once per (env, pov): sessions on equal envs share them
_jitted_reset = jax.jit(_reset, static_argnums=0)
_jitted_tick = jax.jit(_tick, static_argnums=(0, 1))
_jitted_draw = jax.jit(_draw, static_argnums=(0, 1))


def has_grid_view(env: Env) -> bool:
    """Whether observations are grid-world crops i32[V, V, C>=2] (tile id, unit id, ...)."""
    space = env.observation_space
    return (
        isinstance(space, Box)
        and len(space.shape) == 3
        and space.shape[0] == space.shape[1]
        and space.shape[2] >= 2
        and np.issubdtype(np.dtype(space.dtype), np.integer)
    )
