"""JAX multi-agent environments with one functional API (see `marlax.envs.base`)."""

from marlax.envs.base import Env
from marlax.envs.registry import env_class, env_parameters, list_envs, make, register
from marlax.envs.spaces import Box, Discrete
from marlax.envs.wrappers import AutoReset, LogWrapper, VectorEnv

__all__ = [
    "AutoReset",
    "Box",
    "Discrete",
    "Env",
    "LogWrapper",
    "VectorEnv",
    "env_class",
    "env_parameters",
    "list_envs",
    "make",
    "register",
]
