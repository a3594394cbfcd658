"""`jsonable` / `finite_or_none`: a missing number is null in every run file, never NaN."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from marlax.runs.jsonable import finite_or_none, jsonable


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (np.int32(3), 3),
        (True, True),
        (1.5, 1.5),
        (np.float32(0.25), 0.25),
        (np.array(2.0), 2.0),
        (math.nan, None),
        (np.float32("inf"), None),
        (-math.inf, None),
        (None, None),
    ],
)
def test_finite_or_none_known_values(value, expected):
    result = finite_or_none(value)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize("value", [np.array([]), np.array([1.0, 2.0]), "1.0"])
def test_finite_or_none_refuses_what_is_not_one_number(value):
    with pytest.raises(ValueError, match="one number"):
        finite_or_none(value)


def test_jsonable_walks_mappings_and_sequences_and_gives_strict_json():
    value = {
        "best_return": np.float64("nan"),
        "curve": np.array([1.0, np.inf, 2.0]),
        "ks": (2, np.int64(3)),
        "nested": {"message": "no episode ended", "loss": [math.nan, 0.5]},
    }
    converted = jsonable(value)
    assert converted == {
        "best_return": None,
        "curve": [1.0, None, 2.0],
        "ks": [2, 3],
        "nested": {"message": "no episode ended", "loss": [None, 0.5]},
    }
    assert json.loads(json.dumps(converted, allow_nan=False)) == converted
