"""Energy-flow grid world: agents harvest energy radiated by sources and carried by pathways."""

from marlax.envs.energy_flow.env import EnergyFlow
from marlax.envs.energy_flow.types import State

__all__ = ["EnergyFlow", "State"]
