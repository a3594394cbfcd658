"""Battle: magent2's battle_v4 in pure JAX, two teams of up to thousands of agents."""

from marlax.envs.battle.env import Battle
from marlax.envs.battle.types import BattleState

__all__ = ["Battle", "BattleState"]
