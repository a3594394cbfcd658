"""`from_pettingzoo(make_parallel_env, num_envs)`: B PettingZoo ParallelEnvs stepped on the host
as one batch with fixed agent slots.

    from magent2.environments import battle_v4
    envs = from_pettingzoo(lambda: battle_v4.parallel_env(map_size=16), num_envs=8, seed=0)
    batch = envs.reset()                      # HostStep: obs [B, N, ...], alive bool[B, N], ...
    batch = envs.step(actions)                # actions i32[B, N] (f32[B, N, A] for Box)

The slots are the env's `possible_agents` (N fixed), row i of every array is agent i. An agent
that is not in the env's live `agents` (dead, or not yet appeared) is masked: its observation
is zero, its reward 0, its `alive` False, its actions are ignored and all its actions are legal
(so a policy's distribution over them stays finite). An agent's trajectory ends (`agent_done`)
at the step it leaves the env, which is where its last reward counts; the episode ends
(`done`) when no agent is left, and that env is reset at once (auto-reset): the returned `obs`
then start the next episode and `final_obs` hold what each agent saw at the end.

Observation spaces must be equal for every agent (a float or integer `Box`); action spaces
must all be one `Discrete(A)` or one `Box` (no padding: a ConfigError names the first agent
that differs). Legal actions come from `infos[agent]["action_mask"]` where the env gives one
(as `to_pettingzoo` and PettingZoo's classic envs do), else every action is legal.

Seeding: env b's first `reset` gets `reset_seeds(seed, B)[b]`; later resets pass no seed, so
each env continues its own random stream (`to_pettingzoo`'s key schedule, which makes a marlax
env wrapped both ways replay step for step).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np

from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError
from marlax.validate import require_int, require_positive_int


class HostStep(NamedTuple):
    """What the batch of host envs gives back (numpy arrays, leading axes [B, N])."""

    obs: np.ndarray  # [B, N, *obs_shape] what each agent acts on next (0 where not alive)
    alive: np.ndarray  # bool[B, N] the agent is live in `obs` (acts at the next step)
    started: np.ndarray  # bool[B, N] `obs` begins the agent's trajectory (reset its memory)
    legal: np.ndarray  # bool[B, N, A] legal actions for `obs`; bool[B, N, 0] for Box actions
    reward: np.ndarray  # f32[B, N] reward of the step (0 for agents not live in it)
    agent_done: np.ndarray  # bool[B, N] the agent's trajectory ended at this step
    terminated: np.ndarray  # bool[B, N] ... in a terminal state (no bootstrap)
    final_obs: np.ndarray  # [B, N, *obs_shape] what each agent saw at the end of the step
    done: np.ndarray  # bool[B] the episode ended at this step (the env was reset)
    episode_return: np.ndarray  # f32[B] the ended episode's summed reward, mean over slots
    episode_length: np.ndarray  # i32[B] the ended episode's steps


def from_pettingzoo(
    make_parallel_env: Callable[[], Any], num_envs: int, *, seed: int = 0
) -> HostVectorEnv:
    """B copies of a PettingZoo ParallelEnv as one host-stepped batch (see the module docstring).

    Args:
        make_parallel_env: builds one fresh `pettingzoo.ParallelEnv` per call.
        num_envs: B, copies stepped in turn (>= 1).
        seed: root seed of the first resets (`reset_seeds`).
    """
    return HostVectorEnv(make_parallel_env, num_envs, seed=seed)


def reset_seeds(seed: int, num_envs: int) -> list[int]:
    """The seeds of the B envs' first resets: distinct, drawn from `SeedSequence(seed)`."""
    state = np.random.SeedSequence(require_int("seed", seed, 0)).generate_state(num_envs)
    return [int(value) % 2**31 for value in state]


def from_gymnasium_space(space: Any, field: str) -> Space:
    """The marlax `Discrete` or `Box` of a gymnasium space (scalar bounds: the extremes).

    Raises:
        ConfigError: `field`, for any other space (Dict, Tuple, MultiDiscrete, ...).
    """
    kind = type(space).__name__
    if kind == "Discrete" and int(getattr(space, "start", 0)) == 0:
        return Discrete(int(space.n))
    if kind == "Box":
        low, high = float(np.min(space.low)), float(np.max(space.high))
        return Box(low, high, tuple(int(size) for size in space.shape), np.dtype(space.dtype).name)
    raise ConfigError(field, space, "a gymnasium Discrete (from 0) or Box space")


def _shared_space(spaces: Sequence[Any], agents: Sequence[str], what: str) -> Space:
    """The one space every agent has, as a marlax space (ConfigError naming the odd agent)."""
    first = spaces[0]
    for agent, space in zip(agents, spaces, strict=True):
        if space != first:
            raise ConfigError(
                f"{what}_space({agent})",
                space,
                f"the same {what} space for every agent: {first} (as {agents[0]}'s)",
            )
    return from_gymnasium_space(first, f"{what}_space")


class HostVectorEnv:
    """B PettingZoo ParallelEnvs with fixed agent slots (see the module docstring)."""

    def __init__(self, make_parallel_env: Callable[[], Any], num_envs: int, *, seed: int = 0):
        self.num_envs = require_positive_int("num_envs", num_envs)
        self.envs = [make_parallel_env() for _ in range(self.num_envs)]
        first = self.envs[0]
        self.agents: tuple[str, ...] = tuple(first.possible_agents)
        self._slot = {agent: index for index, agent in enumerate(self.agents)}
        self.observation_space = _shared_space(
            [first.observation_space(agent) for agent in self.agents], self.agents, "observation"
        )
        self.action_space = _shared_space(
            [first.action_space(agent) for agent in self.agents], self.agents, "action"
        )
        self._seeds = reset_seeds(seed, self.num_envs)
        self._returns = np.zeros((self.num_envs, self.num_agents), np.float32)
        self._lengths = np.zeros((self.num_envs,), np.int32)
        self._alive = np.zeros((self.num_envs, self.num_agents), bool)

    @property
    def num_agents(self) -> int:
        """N, the agent slots (`possible_agents`)."""
        return len(self.agents)

    @property
    def num_actions(self) -> int:
        """A: the width of `legal` (0 for Box actions)."""
        space = self.action_space
        return space.n if isinstance(space, Discrete) else 0

    def reset(self) -> HostStep:
        """Start an episode in every env (the seeded first resets)."""
        step = self._empty_step()
        for index, env in enumerate(self.envs):
            obs, infos = env.reset(seed=self._seeds[index])
            self._write_obs(step, index, obs, infos)
        step.started[:] = step.alive
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._alive = step.alive.copy()
        return step

    def step(self, actions: np.ndarray) -> HostStep:
        """One step of every env; finished episodes are reset.

        Args:
            actions: i32[B, N] (f32[B, N, A] for Box actions); entries of agents that are not
                alive are ignored.
        """
        actions = np.asarray(actions)
        step = self._empty_step()
        for index, env in enumerate(self.envs):
            self._step_one(step, index, env, actions[index])
        # a slot starts a trajectory where it is alive now but was not continuing one
        continuing = self._alive & ~step.agent_done
        step.started[:] = step.alive & ~continuing
        self._alive = step.alive.copy()
        return step

    def close(self) -> None:
        """Close every env."""
        for env in self.envs:
            env.close()

    # ---- one env ------------------------------------------------------------------------
    def _step_one(self, step: HostStep, index: int, env: Any, actions: np.ndarray) -> None:
        """Step env `index`, write its row of `step`, and reset it when its episode ends."""
        live = list(env.agents)
        action_dict = {agent: self._action(actions[self._slot[agent]]) for agent in live}
        obs, rewards, terminations, truncations, infos = env.step(action_dict)
        for agent in live:
            slot = self._slot[agent]
            step.reward[index, slot] = float(rewards.get(agent, 0.0))
            ended = bool(terminations.get(agent, False)) or bool(truncations.get(agent, False))
            step.agent_done[index, slot] = ended or agent not in env.agents
            step.terminated[index, slot] = bool(terminations.get(agent, False))
        for agent, agent_obs in obs.items():
            step.final_obs[index, self._slot[agent]] = agent_obs
        self._returns[index] += step.reward[index]
        self._lengths[index] += 1
        if env.agents:
            self._write_obs(step, index, obs, infos)
            return
        # the episode is over for every agent: record it, then start the next one
        step.agent_done[index] = self._alive[index]
        step.done[index] = True
        step.episode_return[index] = self._returns[index].mean()
        step.episode_length[index] = self._lengths[index]
        self._returns[index] = 0.0
        self._lengths[index] = 0
        obs, infos = env.reset()
        self._write_obs(step, index, obs, infos)

    def _write_obs(self, step: HostStep, index: int, obs: dict, infos: dict) -> None:
        """Row `index` of obs, alive and legal from the env's live agents."""
        env = self.envs[index]
        for agent in env.agents:
            slot = self._slot[agent]
            if agent in obs:  # an env may add an agent without a first observation
                step.obs[index, slot] = obs[agent]
            step.alive[index, slot] = True
            mask = infos.get(agent, {}).get("action_mask") if self.num_actions else None
            if mask is not None:
                step.legal[index, slot] = np.asarray(mask, bool)

    def _action(self, action: np.ndarray) -> Any:
        """One agent's action as its space takes it: an int, or a float array."""
        if isinstance(self.action_space, Discrete):
            return int(action)
        return np.asarray(action, np.dtype(self.action_space.dtype))

    def _empty_step(self) -> HostStep:
        batch = (self.num_envs, self.num_agents)
        obs_shape = (*batch, *self.observation_space.shape)
        obs_dtype = np.dtype(self.observation_space.dtype)
        return HostStep(
            obs=np.zeros(obs_shape, obs_dtype),
            alive=np.zeros(batch, bool),
            started=np.zeros(batch, bool),
            legal=np.ones((*batch, self.num_actions), bool),
            reward=np.zeros(batch, np.float32),
            agent_done=np.zeros(batch, bool),
            terminated=np.zeros(batch, bool),
            final_obs=np.zeros(obs_shape, obs_dtype),
            done=np.zeros((self.num_envs,), bool),
            episode_return=np.zeros((self.num_envs,), np.float32),
            episode_length=np.zeros((self.num_envs,), np.int32),
        )
