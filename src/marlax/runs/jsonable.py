"""Values as strict JSON: a missing or non-finite number becomes null, never NaN.

    jsonable({"best_return": float("nan"), "update": np.int32(3)})
    # {"best_return": None, "update": 3}

JSON has no NaN or infinity (Python's `json` writes them as invalid tokens unless told not
to), and a run can legitimately have no value for a metric: no episode ended, no loss yet.
Every JSON file of a run folder goes through here, so such a value is written as null.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def finite_or_none(value: Any) -> int | float | bool | None:
    """One scalar as a JSON scalar: ints stay ints, bools bools, NaN/inf/None become None.

    Raises:
        ValueError: `value` is not a single number or bool (e.g. an empty or longer array).
    """
    if value is None:
        return None
    array = np.asarray(value)
    if array.size != 1 or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(f"expected one number, got {value!r}")
    scalar = array.item()
    if isinstance(scalar, bool | int):
        return scalar
    return scalar if math.isfinite(scalar) else None


def jsonable(value: Any) -> Any:
    """`value` with every float (Python or numpy) checked: non-finite ones become None.

    Mappings and lists/tuples are converted recursively (tuples become lists); strings, None,
    bools and ints pass through; numpy scalars and 0-d arrays become Python scalars.
    """
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, bool | int | float | np.generic) or (
        isinstance(value, np.ndarray) and value.ndim == 0
    ):
        return finite_or_none(value)
    if isinstance(value, np.ndarray):
        return [jsonable(item) for item in value.tolist()]
    return value
