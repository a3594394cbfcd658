"""Task families for meta-learning: navigation_2d, velocity_point, bandit_k, spread_family."""

from marlax.envs.meta.family import TaskFamily, is_task_family

__all__ = ["TaskFamily", "is_task_family"]
