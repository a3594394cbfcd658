"""`to_pettingzoo(env)`: any marlax env as a PettingZoo `ParallelEnv`.

    from marlax.envs.adapters.pettingzoo import to_pettingzoo
    par_env = to_pettingzoo(marlax.make("grid_return"), seed=0, render_mode="rgb_array")
    obs, infos = par_env.reset()
    obs, rewards, terminations, truncations, infos = par_env.step(
        {agent: par_env.action_space(agent).sample() for agent in par_env.agents}
    )

Agents are named `agent_0 .. agent_{N-1}` (index i = row i of the marlax arrays).
Key schedule (so an adapter episode can be replayed on the marlax env directly):
`reset(seed=s)` sets `key = jax.random.key(s)` (without a seed it continues the
running key), then `key, reset_key = split(key)`; each step takes
`key, step_key = split(key)`. marlax episodes end for all agents at once, so every
agent leaves `agents` in the step where `done` is True.
"""

from __future__ import annotations

import functools
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from pettingzoo import ParallelEnv

from marlax.envs.base import Env
from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError
from marlax.validate import require, require_int

RENDER_MODES: tuple[str, ...] = ("rgb_array",)


def to_pettingzoo(
    env: Env, seed: int | None = None, render_mode: str | None = None
) -> MarlaxParallelEnv:
    """Wrap a marlax env as a PettingZoo `ParallelEnv` (see the module docstring).

    Args:
        env: any marlax environment (or wrapper) with stacked-agent arrays.
        seed: seed of the first `reset` without one; None draws it from numpy's entropy.
        render_mode: None or "rgb_array" (`render()` returns u8[H, W, 3]).
    """
    return MarlaxParallelEnv(env, seed=seed, render_mode=render_mode)


def to_gymnasium_space(space: Space) -> gymnasium.spaces.Space:
    """The gymnasium equivalent of a marlax `Discrete` or `Box` (one agent's space)."""
    if isinstance(space, Discrete):
        return gymnasium.spaces.Discrete(space.n)
    if isinstance(space, Box):
        dtype = np.dtype(space.dtype)
        low, high = space.low, space.high
        if np.issubdtype(dtype, np.integer):
            # gymnasium integer boxes need finite bounds: clip infinities to the dtype's range
            info = np.iinfo(dtype)
            low, high = max(low, info.min), min(high, info.max)
        return gymnasium.spaces.Box(low=low, high=high, shape=space.shape, dtype=dtype)
    raise TypeError(f"no gymnasium equivalent of {space!r}")


class MarlaxParallelEnv(ParallelEnv):
    """PettingZoo `ParallelEnv` around a marlax env; reset, step and render are jitted once."""

    def __init__(self, env: Env, seed: int | None = None, render_mode: str | None = None):
        require(
            render_mode is None or render_mode in RENDER_MODES,
            "render_mode",
            render_mode,
            "None or one of " + ", ".join(repr(mode) for mode in RENDER_MODES),
        )
        if seed is not None:
            require_int("seed", seed)
        self.env = env
        self.render_mode = render_mode
        name = getattr(env, "name", "") or type(env).__name__
        self.metadata = {"name": f"marlax_{name}", "render_modes": list(RENDER_MODES)}
        self.possible_agents = [f"agent_{index}" for index in range(env.num_agents)]
        self.agents: list[str] = []
        # one space object per agent, so each agent's sampling can be seeded on its own
        self.observation_spaces = {
            agent: to_gymnasium_space(env.observation_space) for agent in self.possible_agents
        }
        self.action_spaces = {
            agent: to_gymnasium_space(env.action_space) for agent in self.possible_agents
        }
        self._discrete = isinstance(env.action_space, Discrete)
        self._action_dtype = np.dtype(env.action_space.dtype)
        self._key = jax.random.key(
            int(np.random.SeedSequence().entropy % 2**31) if seed is None else int(seed)
        )
        # jitted with the env static: adapters around equal envs share the compiled code
        self._reset_fn = functools.partial(_jitted_reset_and_mask, env)
        self._step_fn = functools.partial(_jitted_step_and_mask, env)
        self._render_fn = functools.partial(_jitted_render, env)
        self._global_state_fn = functools.partial(_jitted_global_state, env)
        obs_shape = (env.num_agents, *env.observation_space.shape)
        state_shape = jax.eval_shape(
            env.global_state,
            jax.eval_shape(env.reset, self._key)[1],
            jax.ShapeDtypeStruct(obs_shape, np.dtype(env.observation_space.dtype)),
        ).shape
        self.state_space = gymnasium.spaces.Box(-np.inf, np.inf, state_shape, np.float32)
        self._env_state: Any = None
        self._obs: jax.Array | None = None

    # ---- PettingZoo API -----------------------------------------------------------
    def observation_space(self, agent: str) -> gymnasium.spaces.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gymnasium.spaces.Space:
        return self.action_spaces[agent]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start an episode; `options` is accepted for API compatibility and ignored."""
        del options
        if seed is not None:
            self._key = jax.random.key(require_int("seed", seed))
        self._key, reset_key = jax.random.split(self._key)
        self._obs, self._env_state, mask = self._reset_fn(reset_key)
        self.agents = list(self.possible_agents)
        return self._per_agent_obs(self._obs), self._per_agent_infos(mask)

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """One step of every live agent; all agents leave `agents` when the episode ends."""
        if not self.agents:
            raise RuntimeError("step() called without a live episode: call reset() first")
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ConfigError(
                "actions", sorted(actions), f"an action for every live agent {missing}"
            )
        stacked = np.stack([np.asarray(actions[agent]) for agent in self.possible_agents])
        self._key, step_key = jax.random.split(self._key)
        obs, self._env_state, reward, done, terminated, truncated, mask = self._step_fn(
            step_key, self._env_state, jnp.asarray(stacked.astype(self._action_dtype))
        )
        self._obs = obs
        reward, terminated, truncated = np.asarray(reward), bool(terminated), bool(truncated)
        agents = self.agents
        observations = self._per_agent_obs(obs)
        rewards = {agent: reward[index] for index, agent in enumerate(agents)}
        terminations = dict.fromkeys(agents, terminated)
        truncations = dict.fromkeys(agents, truncated)
        infos = self._per_agent_infos(mask)
        if bool(done):
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray | None:
        """u8[H, W, 3] picture of the current state in "rgb_array" mode; None without a mode."""
        if self.render_mode is None:
            gymnasium.logger.warn("render() without a render_mode: pass render_mode='rgb_array'")
            return None
        if self._env_state is None:
            raise RuntimeError("render() before reset()")
        return np.array(self._render_fn(self._env_state))

    def state(self) -> np.ndarray:
        """The env's `global_state`: f32[S]."""
        if self._env_state is None:
            raise RuntimeError("state() before reset()")
        return np.asarray(self._global_state_fn(self._env_state, self._obs))

    def close(self) -> None:
        """Nothing to release: the adapter holds no window or subprocess."""

    # ---- helpers ------------------------------------------------------------------
    def _per_agent_obs(self, obs: jax.Array) -> dict[str, np.ndarray]:
        stacked = np.array(obs)  # a writable host copy, as gymnasium users expect
        return {agent: stacked[index] for index, agent in enumerate(self.possible_agents)}

    def _per_agent_infos(self, mask: jax.Array | None) -> dict[str, dict[str, Any]]:
        if mask is None:
            return {agent: {} for agent in self.possible_agents}
        # int8 masks, as PettingZoo's classic envs use and gymnasium's sample(mask=) takes
        stacked = np.asarray(mask, dtype=np.int8)
        return {
            agent: {"action_mask": stacked[index]}
            for index, agent in enumerate(self.possible_agents)
        }


def _action_mask_or_none(env: Env, state: Any) -> jax.Array | None:
    """bool[N, A] legal actions for discrete action spaces; None for continuous ones."""
    return env.action_mask(state) if isinstance(env.action_space, Discrete) else None


def _reset_and_mask(env: Env, key: jax.Array) -> tuple[jax.Array, Any, jax.Array | None]:
    """`env.reset` plus the first action mask, in one jitted call."""
    obs, state = env.reset(key)
    return obs, state, _action_mask_or_none(env, state)


def _step_and_mask(env: Env, key: jax.Array, state: Any, actions: jax.Array) -> tuple[Any, ...]:
    """`env.step` plus the next action mask, in one jitted call.

    Returns:
        obs [N, ...], state, reward f32[N], done bool[], terminated bool[], truncated bool[],
        mask bool[N, A] or None.
    """
    obs, state, reward, done, info = env.step(key, state, actions)
    mask = _action_mask_or_none(env, state)
    return obs, state, reward, done, info["terminated"], info["truncated"], mask


def _render(env: Env, state: Any) -> jax.Array:
    return env.render(state)


def _global_state(env: Env, state: Any, obs: jax.Array) -> jax.Array:
    return env.global_state(state, obs)


_jitted_reset_and_mask = jax.jit(_reset_and_mask, static_argnums=0)
_jitted_step_and_mask = jax.jit(_step_and_mask, static_argnums=0)
_jitted_render = jax.jit(_render, static_argnums=0)
_jitted_global_state = jax.jit(_global_state, static_argnums=0)
