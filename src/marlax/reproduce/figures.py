"""A reproduced table as a figure: per metric, each cell's measured value (with its seed
spread) beside the recorded one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marlax.reproduce.compare import Value
from marlax.reproduce.markdown import value_rows
from marlax.reproduce.table import CellResult, Table, comparable_record


def _points(
    results: list[tuple[str, CellResult]], record: Mapping[str, Any] | None, metric: str
) -> list[tuple[str, Value, Value | None]]:
    """(row label, measured, recorded or None) for every row that has `metric`."""
    points = []
    for cell, result in results:
        recorded_rows = value_rows(cell, comparable_record(record, cell, result))
        for label, values in value_rows(cell, result["values"]).items():
            if metric in values:
                recorded = recorded_rows.get(label, {}).get(metric)
                points.append(
                    (
                        label,
                        Value.from_json(values[metric]),
                        None if recorded is None else Value.from_json(recorded),
                    )
                )
    return points


def plot_table(
    table: Table,
    results: list[tuple[str, CellResult]],
    record: Mapping[str, Any] | None,
    path: Path,
) -> None:
    """Write one panel per metric (rows = cells; dot = measured +- std, cross = recorded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(m, _points(results, record, m.key)) for m in table.metrics]
    panels = [(metric, points) for metric, points in panels if points]
    height = 1.0 + 0.3 * max(len(points) for _, points in panels)
    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), height), squeeze=False)
    for axis, (metric, points) in zip(axes[0], panels, strict=True):
        rows = list(range(len(points)))
        measured = [value.mean for _, value, _ in points]
        spread = [value.std or 0.0 for _, value, _ in points]
        axis.errorbar(measured, rows, xerr=spread, fmt="o", label="measured")
        recorded = [(row, rec.mean) for row, (_, _, rec) in enumerate(points) if rec is not None]
        if recorded:
            axis.plot([v for _, v in recorded], [r for r, _ in recorded], "x", label="recorded")
        values = measured + [v for _, v in recorded]
        if min(values) > 0 and max(values) > 100 * min(values):
            axis.set_xscale("log")  # throughputs span orders of magnitude
        axis.set_yticks(list(rows), [label for label, _, _ in points], fontsize=7)
        axis.invert_yaxis()
        axis.set_xlabel(metric.label)
        axis.legend(fontsize=7)
    figure.suptitle(table.heading, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
