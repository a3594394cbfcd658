"""The settings every grid world shares, checked in one place.

Each grid env keeps its fields flat and documented on its own dataclass (`width`,
`height`, `view_size`, `max_steps` and its densities); its `__post_init__` calls
`require_grid_settings(self, ...)` for those, then checks what is its own.
"""

from __future__ import annotations

from typing import Any

from marlax.validate import (
    require_fraction,
    require_int_at_least,
    require_odd_positive_int,
    require_positive_int,
)


def require_grid_settings(
    env: Any,
    *,
    min_width: int = 1,
    min_height: int = 1,
    densities: tuple[str, ...] = (),
) -> None:
    """Check a grid env's shared settings; raise `ConfigError` naming the first bad field.

    Args:
        env: a grid env with int fields `width`, `height`, `view_size` and `max_steps`.
        min_width, min_height: smallest map size the env's generator supports (3 for
            walled maps: a border ring around at least one inner cell).
        densities: names of the env's share-of-map fields (`wall_density`, ...), each
            a number in [0, 1).
    """
    require_int_at_least("width", env.width, min_width)
    require_int_at_least("height", env.height, min_height)
    require_odd_positive_int("view_size", env.view_size)
    require_positive_int("max_steps", env.max_steps)
    for field in densities:
        require_fraction(field, getattr(env, field))
