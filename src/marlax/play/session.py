"""A played episode on the host: one jitted tick per frame (auto-reset).

The keyboard drives one agent; the others act randomly, or follow a `MemoryPolicy` (a trained
network, whose memory the session carries and clears at every episode start). Without a
controlled agent the policy plays everyone and the window only watches.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.envs.base import Env
from marlax.envs.grid.render import draw_cell_outline, render_grid
from marlax.envs.grid.tiles import NUM_TILES, NUM_UNITS
from marlax.envs.spaces import Box
from marlax.errors import ConfigError
from marlax.play.policy import RandomPolicy, with_controlled_agent
from marlax.play.record import EpisodeReturn

POV_OUTLINE = (255, 200, 0)


class PlaySession:
    """The env state, key, policy memory and running returns of a played episode.

    Args:
        env: the environment.
        key: PRNG key of the session.
        pov: the agent the keyboard drives (when `controlled`) and whose view is drawn.
        policy: what the other agents play (all agents when not `controlled`); None plays
            uniform legal actions.
        controlled: False to let `policy` play agent `pov` too (`step`'s action is ignored).
        show_view: False to draw no egocentric view (`pov_view` stays None).

    Attributes:
        state: the env State after the last tick (a fresh episode after `done`).
        frame: u8[H, W, 3] picture of `state`.
        pov_view: u8[h, w, 3] picture of the controlled agent's egocentric view, or None
            when the env's observations are not grid-world crops (or `show_view` is False).
        episodes: finished episodes' returns.
    """

    def __init__(
        self,
        env: Env,
        key: jax.Array,
        pov: int = 0,
        policy: MemoryPolicy | None = None,
        *,
        controlled: bool = True,
        show_view: bool = True,
    ):
        if not (isinstance(pov, int) and 0 <= pov < env.num_agents):
            raise ConfigError("pov", pov, f"an agent index in [0, {env.num_agents})")
        self.env = env
        self.pov = pov
        self.policy = RandomPolicy(env) if policy is None else policy
        self.controlled = controlled
        self._view = show_view and has_grid_view(env)
        key, reset_key = jax.random.split(key)
        self._key = key
        obs, self.state = _jitted_reset(env, reset_key)
        self.frame, self.pov_view = _pictures(*_jitted_draw(env, pov, self._view, obs, self.state))
        self.episodes: list[EpisodeReturn] = []
        self._returns = np.zeros(env.num_agents, np.float32)
        self._length = 0
        self._obs = obs
        self._memory = self.policy.initial_memory()
        self._reset = jnp.ones((), bool)

    def step(self, action_id: int) -> bool:
        """Advance one step with `action_id` for the controlled agent; True if an episode ended."""
        self._key, tick_key = jax.random.split(self._key)
        static = (self.env, self.pov, self.controlled, self._view)
        self._obs, self.state, self._memory, reward, done, frame, view = _jitted_tick(
            *static,
            tick_key,
            self._obs,
            self.state,
            jnp.asarray(action_id, jnp.int32),
            self.policy,
            self._memory,
            self._reset,
        )
        self._reset = done
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
    env: Env,
    pov: int,
    controlled: bool,
    view: bool,
    key: jax.Array,
    obs: jax.Array,
    state: Any,
    action_id: jax.Array,
    policy: MemoryPolicy,
    memory: Any,
    reset: jax.Array,
) -> tuple[Any, ...]:
    """One frame: the policy acts (`action_id` replaces agent `pov`'s action when
    `controlled`), the env steps and auto-resets, and the pictures are drawn.

    Args:
        reset: bool[] this step starts an episode (the policy clears its memory).

    Returns:
        obs, state, memory, reward f32[N], done bool[], frame u8[H, W, 3],
        pov view u8[h, w, 3] or None.
    """
    action_key, step_key, reset_key = jax.random.split(key, 3)
    actions, memory = policy.act(action_key, obs, state, memory, reset)
    if controlled:
        actions = with_controlled_agent(env, actions, pov, action_id)
    obs, state, reward, done, _ = env.step(step_key, state, actions)
    # a new episode starts in the frame after the one that ended
    obs, state = jax.lax.cond(done, lambda: env.reset(reset_key), lambda: (obs, state))
    return (obs, state, memory, reward, done, *_draw(env, pov, view, obs, state))


def _draw(
    env: Env, pov: int, view: bool, obs: jax.Array, state: Any
) -> tuple[jax.Array, jax.Array | None]:
    """The env's picture and, when `view` (grid-world observations), the pov agent's view."""
    frame = env.render(state)
    if not view:
        return frame, None
    crop = obs[pov]
    size = crop.shape[0]
    cell_px = max(4, frame.shape[0] // size // 4 * 4)
    picture = render_grid(
        jnp.clip(crop[..., 0], 0, NUM_TILES - 1), jnp.clip(crop[..., 1], 0, NUM_UNITS - 1), cell_px
    )
    centre = jnp.array([size // 2, crop.shape[1] // 2], jnp.int32)
    return frame, draw_cell_outline(picture, centre, crop.shape[1], cell_px, POV_OUTLINE)


def _reset(env: Env, key: jax.Array) -> tuple[jax.Array, Any]:
    return env.reset(key)


# compiled once per (env, pov, controlled, view) and kind of policy: equal sessions share them
_jitted_reset = jax.jit(_reset, static_argnums=0)
_jitted_tick = jax.jit(_tick, static_argnums=(0, 1, 2, 3))
_jitted_draw = jax.jit(_draw, static_argnums=(0, 1, 2))


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
