"""Wrapper base: a frozen dataclass around an env that forwards what it does not override."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from marlax.envs.base import Env


@dataclass(frozen=True)
class Wrapper:
    """Forwards every attribute it does not define to the wrapped `env`."""

    env: Env | Wrapper

    def __getattr__(self, name: str) -> Any:
        # dataclass fields are found before __getattr__; guard against recursion
        # while the instance is half-built (copy, pickle).
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def unwrapped(self) -> Env:
        """The innermost environment."""
        env = self.env
        while isinstance(env, Wrapper):
            env = env.env
        return env
