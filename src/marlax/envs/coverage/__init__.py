"""Coverage: many agents spread over many targets, O(N) per step (`marlax.envs.neighbours`)."""

from marlax.envs.coverage.env import Coverage
from marlax.envs.coverage.types import State

__all__ = ["Coverage", "State"]
