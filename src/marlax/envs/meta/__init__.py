"""Task families for meta-learning: navigation_2d, velocity_point, bandit_k, spread_family."""

from marlax.envs.meta.bandit import BanditK
from marlax.envs.meta.family import TaskFamily, is_task_family
from marlax.envs.meta.navigation import Navigation2D
from marlax.envs.meta.spread_family import SpreadFamily, SpreadTask
from marlax.envs.meta.velocity import VelocityPoint

__all__ = [
    "BanditK",
    "Navigation2D",
    "SpreadFamily",
    "SpreadTask",
    "TaskFamily",
    "VelocityPoint",
    "is_task_family",
]
