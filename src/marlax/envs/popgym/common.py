"""What every POPGym port shares: one agent, a popgym difficulty, one-hot observations."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from marlax.envs.base import Env
from marlax.validate import require_choice, require_int

DIFFICULTIES = ("easy", "medium", "hard")
"""popgym's Easy / Medium / Hard variants of each task."""


@dataclass(frozen=True)
class PopGymEnv(Env):
    """Base of the POPGym ports: a team of one whose settings come from `difficulty`.

    Subclasses list popgym's constructor arguments per difficulty in `SETTINGS` and give
    popgym's episode length for them as `episode_length`; `max_steps` defaults to it.
    """

    SETTINGS: ClassVar[dict[str, Any]] = {}

    difficulty: str = "easy"
    """popgym variant: "easy", "medium" or "hard" (e.g. RepeatPreviousMedium)."""
    max_steps: int | None = None  # type: ignore[assignment]
    """Truncate after this many steps; None (the default, and the value that equals popgym)
    means popgym's episode length. A smaller value cuts episodes short; rewards keep
    popgym's scale."""

    def __post_init__(self) -> None:
        require_choice("difficulty", self.difficulty, DIFFICULTIES)
        if self.max_steps is None:
            # frozen dataclass: resolve the default once, at construction
            object.__setattr__(self, "max_steps", self.episode_length)
        require_int("max_steps", self.max_steps, 1, self.episode_length)

    @property
    @abc.abstractmethod
    def episode_length(self) -> int:
        """popgym's episode length at this difficulty (steps until it ends)."""

    @property
    def settings(self) -> Any:
        """popgym's constructor arguments for this difficulty."""
        return self.SETTINGS[self.difficulty]

    @property
    def num_agents(self) -> int:
        return 1


def one_hot(index: jax.Array, size: int) -> jax.Array:
    """f32[size]: the one-hot code of a popgym Discrete observation."""
    return jax.nn.one_hot(index, size, dtype=jnp.float32)


def signed_reward(correct: jax.Array, scale: float) -> jax.Array:
    """f32[]: +scale for a correct answer, -scale otherwise (popgym's card games)."""
    return jnp.where(correct, jnp.float32(scale), jnp.float32(-scale))
