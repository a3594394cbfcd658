"""Every member's lineage: `lineage.jsonl` (one line per member per exploit step) and a plot.

    log = LineageLog(folder.path / LINEAGE_FILE, updates_done)   # drops lines past a resume
    log.extend(initial_records(state.hyperparams))               # update 0, fresh runs only
    log.extend(lineage_records(metrics, first_update))           # after each jitted call
    plot_lineage(read_metrics(folder.metrics_path), log.records, folder.path / LINEAGE_PLOT)

A line: {"update": 40, "member": 3, "copied_from": 6, "fitness": -21.4,
"hyperparameters": {"learning_rate": ..., "entropy_coef": ..., "clip_eps": ...}};
`copied_from` is null for a member that kept its own parameters, `fitness` (the interval's
mean return) null where no episode ended. The file is rewritten atomically after each call.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from marlax.algorithms.pbt.types import HYPERPARAMETERS, Hyperparams
from marlax.runs.atomic import write_atomic
from marlax.runs.jsonable import finite_or_none, jsonable

LINEAGE_FILE = "lineage.jsonl"
LINEAGE_PLOT = "lineage.png"
_LOG_SCALE = ("learning_rate", "entropy_coef")
_PBT_EVENTS = ("pbt/exploited", "pbt/copied_from", "pbt/fitness")


def initial_records(hyperparams: Hyperparams) -> list[dict[str, Any]]:
    """Update-0 lines: every member's first hyperparameters (f32[S] each)."""
    values = {name: np.asarray(getattr(hyperparams, name)) for name in HYPERPARAMETERS}
    members = len(values[HYPERPARAMETERS[0]])
    return [_record(0, member, None, None, values, member) for member in range(members)]


def lineage_records(metrics: Mapping[str, Any], first_update: int) -> list[dict[str, Any]]:
    """The lines of the exploit steps in one call's metrics (`PBTTrainer.update`).

    Args:
        metrics: `pbt/exploited`, `pbt/copied_from`, `pbt/fitness` and `pbt/<hyperparameter>`,
            each f32[S, U].
        first_update: updates done before the call.
    """
    exploited = np.asarray(metrics["pbt/exploited"])
    source = np.asarray(metrics["pbt/copied_from"]).astype(int)
    fitness = np.asarray(metrics["pbt/fitness"])
    values = {name: np.asarray(metrics[f"pbt/{name}"]) for name in HYPERPARAMETERS}
    records = []
    for offset in np.flatnonzero(exploited[0] > 0):
        update = first_update + int(offset) + 1
        for member in range(exploited.shape[0]):
            copied = int(source[member, offset])
            parent = None if copied == member else copied
            columns = {name: column[:, offset] for name, column in values.items()}
            records.append(
                _record(update, member, parent, fitness[member, offset], columns, member)
            )
    return records


def _record(
    update: int,
    member: int,
    copied_from: int | None,
    fitness: Any,
    values: Mapping[str, np.ndarray],
    index: int,
) -> dict[str, Any]:
    return {
        "update": update,
        "member": member,
        "copied_from": copied_from,
        "fitness": finite_or_none(fitness),
        "hyperparameters": {name: float(column[index]) for name, column in values.items()},
    }


def member_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The metric lines' columns: PPO's (averaged over members by the host loop) and each
    member's hyperparameters as `pbt/<hyperparameter>/<member>` (f32[U] each)."""
    columns = {key: value for key, value in metrics.items() if not key.startswith("pbt/")}
    for name in HYPERPARAMETERS:
        values = np.asarray(metrics[f"pbt/{name}"])
        for member, row in enumerate(values):
            columns[f"pbt/{name}/{member}"] = row
    return columns


class LineageLog:
    """The lines of `lineage.jsonl`, kept in memory and rewritten atomically on each change."""

    def __init__(self, path: Path, updates_done: int) -> None:
        """Open `path`, dropping lines past `updates_done` (a resumed run redoes them)."""
        self.path = Path(path)
        self.records = [row for row in _read(self.path) if row["update"] <= updates_done]
        self._write()

    def extend(self, records: list[dict[str, Any]]) -> None:
        if records:
            self.records.extend(records)
            self._write()

    def _write(self) -> None:
        lines = "".join(json.dumps(jsonable(row), allow_nan=False) + "\n" for row in self.records)
        write_atomic(self.path, lines.encode("utf-8"))


def _read(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def plot_lineage(rows: list[dict], records: list[dict], out_path: Path) -> None:
    """`lineage.png`: one panel per hyperparameter, a line per member over updates, and a
    marker (labelled with the source) where a member copied another.

    Args:
        rows: metric rows (`read_metrics`) with `update` and `pbt/<hyperparameter>/<member>`.
        records: the lineage lines.
    """
    figure = Figure(figsize=(4.5 * len(HYPERPARAMETERS), 3.4))
    FigureCanvasAgg(figure)
    members = sorted({row["member"] for row in records})
    for index, name in enumerate(HYPERPARAMETERS):
        axes = figure.add_subplot(1, len(HYPERPARAMETERS), index + 1)
        for member in members:
            _plot_member(axes, rows, records, member, name)
        axes.set_title(name)
        axes.set_xlabel("update")
        if name in _LOG_SCALE:
            axes.set_yscale("log")
    if members:
        figure.axes[0].legend(fontsize=6)
    figure.tight_layout()
    write_atomic(out_path, _png(figure))


def _plot_member(axes: Any, rows: list[dict], records: list[dict], member: int, name: str) -> None:
    """One member's `name` over updates (a step line) and its copy events (labelled markers)."""
    color = f"C{member % 10}"
    points = [(0, _first_value(records, member, name))]
    key = f"pbt/{name}/{member}"
    points += [(row["update"], row[key]) for row in rows if row.get(key) is not None]
    updates, values = zip(*points, strict=True)
    axes.plot(
        updates,
        values,
        color=color,
        linewidth=1.0,
        drawstyle="steps-post",
        label=f"member {member}",
    )
    for copy in (r for r in records if r["member"] == member and r["copied_from"] is not None):
        value = copy["hyperparameters"][name]
        axes.plot(copy["update"], value, marker="o", color=color, markersize=4)
        axes.annotate(str(copy["copied_from"]), (copy["update"], value), fontsize=6)


def _first_value(records: list[dict], member: int, name: str) -> float:
    first = next(r for r in records if r["member"] == member and r["update"] == 0)
    return first["hyperparameters"][name]


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
