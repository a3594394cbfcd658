"""Adapters between marlax and other APIs (JaxMARL, gymnax, PettingZoo).

Each imports its peer library only when used, so this package imports without
the `[jaxmarl]`, `[gymnax]` or `[pettingzoo]` extras.
"""

from __future__ import annotations

from typing import Any

from marlax.envs.adapters.gymnax import from_gymnax
from marlax.envs.adapters.jaxmarl import from_jaxmarl

__all__ = ["from_gymnax", "from_jaxmarl", "to_pettingzoo"]


def __getattr__(name: str) -> Any:
    # pettingzoo and gymnasium are imported only when `to_pettingzoo` is asked for
    if name == "to_pettingzoo":
        from marlax.envs.adapters.pettingzoo import to_pettingzoo

        return to_pettingzoo
    raise AttributeError(name)
