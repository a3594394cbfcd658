"""Traveling salesman grid world: visit every flag, remember which ones you already took."""

from marlax.envs.traveling_salesman.env import TravelingSalesman
from marlax.envs.traveling_salesman.types import TravelingSalesmanState

__all__ = ["TravelingSalesman", "TravelingSalesmanState"]
