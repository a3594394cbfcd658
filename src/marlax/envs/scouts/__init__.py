"""Scouts: fast scouts and slow harvesters share flags that harvesters unlock and scouts take."""

from marlax.envs.scouts.env import Scouts
from marlax.envs.scouts.types import State

__all__ = ["Scouts", "State"]
