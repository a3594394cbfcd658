"""The host envs of a sebulba config, and the layout PPO's networks are built for.

make_parallel_env = parallel_env_factory(config)       # () -> pettingzoo.ParallelEnv
envs = from_pettingzoo(make_parallel_env, num_envs=8, seed=0)
layout = HostLayout.of(envs)                            # what make_networks reads
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from marlax.config import TrainConfig
from marlax.config.sebulba import PETTINGZOO_PREFIX
from marlax.envs.adapters.from_pettingzoo import HostVectorEnv
from marlax.envs.spaces import Box, Discrete, Space
from marlax.errors import ConfigError


def parallel_env_factory(config: TrainConfig) -> Callable[[], Any]:
    """() -> a fresh PettingZoo ParallelEnv: `sebulba.host_env`, or the task via `to_pettingzoo`.

    Raises:
        ConfigError: `sebulba.host_env` names a module that does not import or has no
            `parallel_env`.
    """
    name = config.sebulba.host_env
    if name is None:
        from marlax.envs.adapters.pettingzoo import to_pettingzoo

        env = config.envs[0].make_env()
        # the first reset of each copy is seeded by from_pettingzoo (reset_seeds)
        return lambda: to_pettingzoo(env, seed=0)
    module_name = name.removeprefix(PETTINGZOO_PREFIX)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            "sebulba.host_env",
            name,
            f"an importable module ({error}; magent2: pip install 'marlax[magent]')",
        ) from None
    parallel_env = getattr(module, "parallel_env", None)
    if not callable(parallel_env):
        raise ConfigError("sebulba.host_env", name, "a module with a parallel_env function")
    params = dict(config.sebulba.host_env_params)
    return lambda: parallel_env(**params)


@dataclass(frozen=True)
class HostLayout:
    """The part of PPO's `TaskLayout` that `make_networks` and `Networks.init` read, for one
    host task: the agent slots and one agent's spaces (no padding, no task id)."""

    observation_space: Box
    action_space: Space
    max_agents: int

    @classmethod
    def of(cls, envs: HostVectorEnv) -> HostLayout:
        return cls(envs.observation_space, envs.action_space, envs.num_agents)

    @property
    def continuous(self) -> bool:
        return not isinstance(self.action_space, Discrete)

    @property
    def multi_task(self) -> bool:
        return False

    def critic_size(self) -> int:
        """Host envs give no global state: the config refuses a centralised critic."""
        raise ConfigError("ppo.critic", "centralised", '"independent" or "shared" for sebulba')
