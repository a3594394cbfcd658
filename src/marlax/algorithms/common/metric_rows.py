"""Metric lines from a learner's per-call metrics: one row per update, seeds averaged."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def metric_rows(
    metrics: Mapping[str, Any], first_update: int, num_updates: int, env_steps_per_update: int
) -> list[dict[str, Any]]:
    """One row per update from a call's metrics: means over seeds of the finite values.

    Args:
        metrics: each f32[S, num_updates] or f32[num_updates].
        first_update: updates done before the call (rows are numbered from first_update + 1).
        num_updates: updates the call made.
        env_steps_per_update: environment steps per update and seed.

    Returns:
        `num_updates` dicts `{"update", "env_steps", **metrics}`; a metric is NaN at an
        update where no seed has a finite value.

    Raises:
        ValueError: a metric's last axis is not `num_updates` long.
    """
    columns = {}
    for key, values in metrics.items():
        array = np.atleast_2d(np.asarray(values, dtype=np.float64))
        array = array.reshape(-1, array.shape[-1])
        if array.shape[-1] != num_updates:
            raise ValueError(
                f"metric {key!r} has shape {np.shape(values)}: want [S, {num_updates}]"
            )
        columns[key] = array
    rows = []
    for offset in range(num_updates):
        update = first_update + offset + 1
        row: dict[str, Any] = {"update": update, "env_steps": update * env_steps_per_update}
        for key, array in columns.items():
            column = array[:, offset]
            finite = column[np.isfinite(column)]
            row[key] = float(finite.mean()) if finite.size else math.nan
        rows.append(row)
    return rows


def first_diverged_row(rows: list[dict], finite_prefixes: tuple[str, ...]) -> dict | None:
    """The first row where a metric named with one of `finite_prefixes` is not finite."""
    for row in rows:
        for key, value in row.items():
            if key.startswith(finite_prefixes) and not math.isfinite(value):
                return row
    return None
