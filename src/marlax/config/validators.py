"""Per-field checks for config dataclasses: a type, a range, a choice.

A check is a callable `check(field, value) -> value` that returns the value in its
canonical form (an int given for a float field becomes a float) or raises
`ConfigError(field, value, expected)`. Fields carry their check in their metadata
(`spec(default, check)`); `check_fields(instance)` runs them all in `__post_init__`.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from collections.abc import Callable, Iterable
from typing import Any

from marlax import validate
from marlax.errors import ConfigError

Check = Callable[[str, Any], Any]
REQUIRED = dataclasses.MISSING
"""`spec(REQUIRED, check)`: a field without a default."""


def spec(default: Any, check: Check) -> Any:
    """A dataclass field with a default and a check.

    A dict default gets a fresh copy per instance; a class default means "a fresh instance".
    """
    metadata = {"check": check}
    if isinstance(default, type):
        return dataclasses.field(default_factory=default, metadata=metadata)
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def check_fields(instance: Any) -> None:
    """Run every field's check and store the canonical value (frozen-safe)."""
    for field in dataclasses.fields(instance):
        check = field.metadata.get("check")
        if check is not None:
            value = check(field.name, getattr(instance, field.name))
            object.__setattr__(instance, field.name, value)


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The choice `name` most likely meant: difflib's closest, else one whose snake_case
    initials spell `name` ("lr" -> "learning_rate"), else None."""
    choices = list(choices)
    close = difflib.get_close_matches(name, choices, n=1)
    if close:
        return close[0]
    initials = [choice for choice in choices if "".join(w[:1] for w in choice.split("_")) == name]
    return initials[0] if initials else None


def suggestion(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    match = closest(name, choices)
    return f" (did you mean {match!r}?)" if match else ""


def check_setting_names(field: str, settings: dict[str, Any], known: Iterable[str]) -> None:
    """Every key of `settings` is in `known`; an unknown one names `field.<key>`."""
    known = sorted(known)
    for name, value in settings.items():
        if name not in known:
            raise ConfigError(
                f"{field}.{name}", value, f"a setting in {known}{suggestion(name, known)}"
            )


def integer(minimum: int) -> Check:
    """An integer >= `minimum`; a bool or a float is rejected."""

    def check(field: str, value: Any) -> int:
        return validate.require_int_at_least(field, value, minimum)

    return check


def number(
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> Check:
    """A finite number in the interval from `low` to `high` (ints accepted, stored as float)."""

    def check(field: str, value: Any) -> float:
        return validate.require_number(
            field, value, low, high, open_low=open_low, open_high=open_high
        )

    return check


def interval() -> Check:
    """Two finite numbers [low, high] with low < high (a JSON list; stored as a float tuple)."""

    def check(field: str, value: Any) -> tuple[float, float]:
        ok = isinstance(value, list | tuple) and len(value) == 2
        ok = ok and all(validate.is_number(item) and math.isfinite(item) for item in value)
        if not ok or not value[0] < value[1]:
            raise ConfigError(field, value, "two finite numbers [low, high] with low < high")
        return (float(value[0]), float(value[1]))

    return check


def boolean() -> Check:
    """true or false (0 and 1 are not booleans)."""
    return validate.require_bool


def string(*, nonempty: bool = True, forbidden: str = "") -> Check:
    """A string; optionally non-empty and free of the characters in `forbidden`."""

    def check(field: str, value: Any) -> str:
        bad = isinstance(value, str) and any(char in value for char in forbidden)
        if not isinstance(value, str) or (nonempty and not value) or bad:
            extra = f" without any of {forbidden!r}" if forbidden else ""
            raise ConfigError(field, value, f"a {'non-empty ' if nonempty else ''}string{extra}")
        return value

    return check


def choice(choices: Callable[[], Iterable[str]] | Iterable[str]) -> Check:
    """One of `choices` (a list, or a callable giving it, read at check time)."""

    def check(field: str, value: Any) -> str:
        names = sorted(choices() if callable(choices) else choices)
        if not isinstance(value, str) or value not in names:
            hint = suggestion(value, names) if isinstance(value, str) else ""
            raise ConfigError(field, value, f"one of {', '.join(names)}{hint}")
        return value

    return check


def env_name(registered: Callable[[], Iterable[str]], accepts: Callable[[Any], bool]) -> Check:
    """A registered env name (`accepts(value)`), listing `registered()` when it is not."""

    def check(field: str, value: Any) -> str:
        if accepts(value):
            return value
        names = sorted(registered())
        hint = suggestion(value, names) if isinstance(value, str) else ""
        raise ConfigError(
            field,
            value,
            f"one of {', '.join(names)}, or jaxmarl:<JaxMARL env>, or gymnax:<gymnax env>{hint}",
        )

    return check


def mapping() -> Check:
    """A JSON object with string keys; JSON lists inside become tuples (hashable settings)."""

    def check(field: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
            raise ConfigError(field, value, "a JSON object of settings")
        return {key: _tuples(item) for key, item in value.items()}

    return check


def _tuples(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value


def instance_of(cls: type) -> Check:
    """An instance of `cls` (a config section)."""

    def check(field: str, value: Any) -> Any:
        if not isinstance(value, cls):
            raise ConfigError(field, value, f"a {cls.__name__}")
        return value

    return check


def optional(check: Check, meaning: str) -> Check:
    """None (which means `meaning`) or whatever `check` accepts."""

    def optional_check(field: str, value: Any) -> Any:
        if value is None:
            return None
        try:
            return check(field, value)
        except ConfigError as error:
            raise ConfigError(field, value, f"{error.expected}, or null ({meaning})") from None

    return optional_check
