"""Errors that every marlax package may raise; this module imports nothing of marlax."""

from __future__ import annotations

from typing import Any


class ConfigError(ValueError):
    """A user-supplied setting is invalid.

    The message names the field, the value and what was expected, so the CLI can
    print it as one line and exit with code 2.
    """

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}={value!r}: expected {expected}")
