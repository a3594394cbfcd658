"""marlax.validate: the one module that checks user input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from marlax import validate
from marlax.errors import ConfigError


@pytest.mark.parametrize("value", [0, 3, -2, np.int32(4), np.int64(-1)])
def test_integers_are_integers(value):
    assert validate.is_int(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 1.0, "1", None])
def test_bools_floats_and_strings_are_not_integers(value):
    assert not validate.is_int(value)


@pytest.mark.parametrize("value", [0, 1.5, -3, np.float32(2.5), np.int64(7)])
def test_finite_numbers(value):
    assert validate.is_number(value)


@pytest.mark.parametrize("value", [True, math.nan, math.inf, -math.inf, 10**400, "2", None])
def test_not_finite_numbers(value):
    assert not validate.is_number(value)


def test_require_int_names_field_value_and_range():
    assert validate.require_int("n", np.int64(5), minimum=1) == 5
    with pytest.raises(ConfigError) as error:
        validate.require_int("num_agents", 0, minimum=1)
    assert (error.value.field, error.value.value, error.value.expected) == (
        "num_agents",
        0,
        "an integer >= 1",
    )
    with pytest.raises(ConfigError, match=r"an integer in \[2, 4\]"):
        validate.require_int("k", 5, minimum=2, maximum=4)
    with pytest.raises(ConfigError, match="an integer <= 3"):
        validate.require_int("k", 4, maximum=3)
    with pytest.raises(ConfigError):
        validate.require_positive_int("n", True)


def test_odd_view_sizes():
    assert validate.require_odd_positive_int("view", 5) == 5
    for bad in (4, 0, -1, 5.0):
        with pytest.raises(ConfigError, match="odd integer"):
            validate.require_odd_positive_int("view", bad)


@pytest.mark.parametrize(
    ("kwargs", "inside", "boundary", "expected"),
    [
        ({"low": 0.0, "open_low": True}, 1e-9, 0.0, "a number > 0"),
        ({"low": 0.0}, 0.0, -1e-9, "a number >= 0"),
        ({"low": 0.0, "high": 1.0, "open_high": True}, 0.0, 1.0, "a number in [0, 1)"),
        ({"low": 0.0, "high": 1.0, "open_low": True}, 1.0, 0.0, "a number in (0, 1]"),
        ({"high": 2.0, "open_high": True}, -5.0, 2.0, "a number < 2"),
        ({}, -1e30, math.nan, "a finite number"),
    ],
)
def test_number_bounds_are_exact(kwargs, inside, boundary, expected):
    assert validate.require_number("x", inside, **kwargs) == inside
    with pytest.raises(ConfigError) as error:
        validate.require_number("x", boundary, **kwargs)
    assert error.value.expected == expected


def test_named_number_checks():
    assert validate.require_positive("sigma", 2) == 2.0
    assert validate.require_non_negative("leak", 0) == 0.0
    assert validate.require_fraction("density", 0.5) == 0.5
    for check, bad in [
        (validate.require_positive, 0.0),
        (validate.require_non_negative, -0.1),
        (validate.require_fraction, 1.0),
        (validate.require_positive, True),
    ]:
        with pytest.raises(ConfigError):
            check("field", bad)


def test_bool_and_choice():
    assert validate.require_bool("flag", False) is False
    with pytest.raises(ConfigError, match="true or false"):
        validate.require_bool("flag", 1)
    assert validate.require_choice("mode", "b", ("a", "b")) == "b"
    with pytest.raises(ConfigError, match="one of 'a', 'b'"):
        validate.require_choice("mode", "c", ("a", "b"))
    with pytest.raises(ConfigError):
        validate.require_choice("mode", ["a"], ("a", "b"))  # unhashable is refused, not a crash
