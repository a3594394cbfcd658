"""The one place where user input is checked: settings, config fields, CLI values.

Every check raises `ConfigError(field, value, expected)` eagerly, outside jit, so the CLI
prints one line and exits 2. Bools are never integers or numbers here (`True` is not a
count), and numpy integer/float scalars are accepted where Python ones are.

The `is_*` predicates answer a question; the `require_*` functions raise. Config
dataclasses use the `Check` factories in `marlax.config.validators`, which are built on
these. This module imports nothing of marlax but `errors`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from marlax.errors import ConfigError


def is_int(value: Any) -> bool:
    """True for a Python or numpy integer; False for a bool, a float or anything else."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_number(value: Any) -> bool:
    """True for a finite int or float (Python or numpy); False for bools, NaN and inf."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float (10 ** 400)
        return False


def require(condition: bool, field: str, value: Any, expected: str) -> None:
    """Raise `ConfigError(field, value, expected)` unless `condition` holds."""
    if not condition:
        raise ConfigError(field, value, expected)


def require_int(
    field: str, value: Any, minimum: int | None = None, maximum: int | None = None
) -> int:
    """An integer in [minimum, maximum] (either bound optional); returns it as a Python int."""
    ok = is_int(value)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    require(ok, field, value, _int_range(minimum, maximum))
    return int(value)


def require_int_at_least(field: str, value: Any, minimum: int) -> int:
    """An integer >= `minimum`."""
    return require_int(field, value, minimum=minimum)


def require_positive_int(field: str, value: Any) -> int:
    """An integer >= 1 (a count or a size)."""
    return require_int(field, value, minimum=1)


def require_nonnegative_int(field: str, value: Any) -> int:
    """An integer >= 0."""
    return require_int(field, value, minimum=0)


def require_odd_positive_int(field: str, value: Any) -> int:
    """A view size: an odd integer >= 1, so the agent sits at its centre."""
    require(
        is_int(value) and value >= 1 and value % 2 == 1,
        field,
        value,
        "an odd integer >= 1 (the agent sits at the centre of its view)",
    )
    return int(value)


def require_number(
    field: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """A finite number between `low` and `high` (bounds closed unless `open_*`); returns a float."""
    ok = is_number(value)
    ok = ok and (value > low if open_low else value >= low)
    ok = ok and (value < high if open_high else value <= high)
    require(ok, field, value, number_range(low, high, open_low=open_low, open_high=open_high))
    return float(value)


def require_positive(field: str, value: Any) -> float:
    """A finite number > 0 (a scale, a temperature, a rate)."""
    return require_number(field, value, 0.0, open_low=True)


def require_non_negative(field: str, value: Any) -> float:
    """A finite number >= 0."""
    return require_number(field, value, 0.0)


def require_fraction(field: str, value: Any) -> float:
    """A number in [0, 1) (a density or a share)."""
    return require_number(field, value, 0.0, 1.0, open_high=True)


def require_bool(field: str, value: Any) -> bool:
    """true or false (0 and 1 are not booleans)."""
    require(isinstance(value, bool), field, value, "true or false")
    return value


def require_choice(field: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of `choices`; the message lists them all."""
    choices = tuple(choices)
    require(
        _hashable(value) and value in choices,
        field,
        value,
        "one of " + ", ".join(repr(choice) for choice in choices),
    )
    return value


def number_range(
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> str:
    """The words for a finite-number range: 'a number > 0', 'a number in [0, 1)', ..."""
    if low == -math.inf and high == math.inf:
        return "a finite number"
    if high == math.inf:
        return f"a number {'>' if open_low else '>='} {low:g}"
    if low == -math.inf:
        return f"a number {'<' if open_high else '<='} {high:g}"
    left = "(" if open_low else "["
    right = ")" if open_high else "]"
    return f"a number in {left}{low:g}, {high:g}{right}"


def _int_range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"an integer in [{minimum}, {maximum}]"
    if minimum is not None:
        return f"an integer >= {minimum}"
    if maximum is not None:
        return f"an integer <= {maximum}"
    return "an integer"


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
