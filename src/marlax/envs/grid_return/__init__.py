"""Grid return: dig through diggable walls to reach a treasure, again and again."""

from marlax.envs.grid_return.env import GridReturn
from marlax.envs.grid_return.types import State

__all__ = ["GridReturn", "State"]
