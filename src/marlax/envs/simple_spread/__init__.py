"""MPE cooperative navigation (`simple_spread`), equal to mpe2 `simple_spread_v3`."""

from marlax.envs.simple_spread.env import SimpleSpread
from marlax.envs.simple_spread.types import State

__all__ = ["SimpleSpread", "State"]
