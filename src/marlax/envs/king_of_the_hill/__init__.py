"""King of the hill: two teams fight over control points on a diggable map."""

from marlax.envs.king_of_the_hill.env import KingOfTheHill
from marlax.envs.king_of_the_hill.types import KingOfTheHillState

__all__ = ["KingOfTheHill", "KingOfTheHillState"]
