"""Eager checks shared by the coordination modules: bad settings raise ConfigError, never in jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.errors import ConfigError


def require_positive_int(field: str, value: object) -> None:
    """Raise ConfigError unless `value` is an int >= 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(field, value, "an integer >= 1")


def require_positive(field: str, value: object) -> None:
    """Raise ConfigError unless `value` is a finite real number > 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ConfigError(field, value, "a number > 0")
    if value == float("inf"):
        raise ConfigError(field, value, "a finite number > 0")


def require_non_negative(field: str, value: object) -> None:
    """Raise ConfigError unless `value` is a real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ConfigError(field, value, "a number >= 0")


def require_choice(field: str, value: object, choices: tuple[str, ...]) -> None:
    """Raise ConfigError unless `value` is one of `choices`."""
    if value not in choices:
        raise ConfigError(field, value, "one of " + ", ".join(repr(c) for c in choices))


def default_mask(states: jax.Array, mask: jax.Array | None) -> jax.Array:
    """bool[B, K]: the given mask, or all True for states f32[B, K, D]."""
    if mask is None:
        return jnp.ones(states.shape[:2], dtype=bool)
    return mask.astype(bool)
