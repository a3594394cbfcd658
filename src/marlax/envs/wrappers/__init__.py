"""Wrappers: auto-reset, episode logging, batched vector envs, RL² trials."""

from marlax.envs.wrappers.autoreset import AutoReset, select_tree
from marlax.envs.wrappers.base import Wrapper
from marlax.envs.wrappers.log import LogState, LogWrapper
from marlax.envs.wrappers.trial import TrialEnv, TrialState
from marlax.envs.wrappers.vector import VectorEnv

__all__ = [
    "AutoReset",
    "LogState",
    "LogWrapper",
    "TrialEnv",
    "TrialState",
    "VectorEnv",
    "Wrapper",
    "select_tree",
]
