"""Variable n-back: a single-agent memory task whose lag n is hidden and drawn per episode."""

from marlax.envs.nback.env import NBack
from marlax.envs.nback.types import State

__all__ = ["NBack", "State"]
