"""The parts of a reproducible table: its cells, how one cell runs, and how it prints.

A `Table` names a table of BENCHMARKS.md (`heading`, its id in recorded.json) and lists its
cells; `run_cell(cell, context)` measures one cell through the library code paths that
`marlax train`, `marlax eval`, `marlax bench` and the benchmark scripts use, and returns a
JSON-able `CellResult`: the settings it ran under (compared with the recorded ones) and its
values (each a number or {"mean", "std"?, "low"?, "high"?}).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from marlax.reproduce.settings import ReproduceSettings

QUICK_SUFFIX = "-quick"
"""Ends the name of every `--quick` cell; the rest names the recorded cell it compares with."""

CellResult = dict[str, Any]
"""{"settings": {name: value}, "values": {metric: value json}, "seconds": float, ...}."""


@dataclass(frozen=True)
class Cell:
    """One cell of a table: its name (unique in the table) and what it measures."""

    name: str
    spec: Mapping[str, Any] = field(default_factory=dict)
    """Table-specific: a config and budget, an env and batch size, a team size..."""


@dataclass(frozen=True)
class CellContext:
    """What a cell's run gets besides the cell."""

    settings: ReproduceSettings
    seeds: int
    """Seeds to train (the table's recorded count unless --seeds says otherwise)."""
    runs_dir: Path
    """Where training cells keep their run folders (resumed from their checkpoints)."""
    console: Console


@dataclass(frozen=True)
class Metric:
    """A column of the table: the value's key, its header and how many decimals it shows."""

    key: str
    label: str
    decimals: int = 2


@dataclass(frozen=True)
class Table:
    """A reproducible table (see the module docstring)."""

    name: str
    """Its name on the command line (`marlax reproduce NAME`)."""
    heading: str
    """Its heading in BENCHMARKS.md: the table's id in recorded.json."""
    cells: tuple[Cell, ...]
    quick_cell: Cell
    """A tiny cell for `--quick` (seconds on 2 CPU cores); its name ends in "-quick"."""
    run_cell: Callable[[Cell, CellContext], CellResult]
    metrics: tuple[Metric, ...]
    setting_columns: tuple[str, ...] = ()
    """Settings shown as leading columns of the markdown table."""
    trains: bool = False
    """Whether --budget-scale and --seeds apply (a learning table)."""
    recorded_seeds: int = 1
    """Seeds of the recorded runs: the default of --seeds for this table."""
    figure: Callable[[list[tuple[str, CellResult]], Path], None] | None = None
    """An extra figure of the table's own kind (written beside the generic one)."""

    def cell_key(self, settings: ReproduceSettings) -> dict[str, Any]:
        """The options a finished cell was run with: a stored cell is reused only if equal."""
        key: dict[str, Any] = {"quick": settings.quick}
        if self.trains:
            key |= {"budget_scale": settings.budget_scale, "seeds": self.seeds(settings)}
        return key

    def seeds(self, settings: ReproduceSettings) -> int:
        """--seeds, else one seed in --quick mode (CI), else the recorded count."""
        if settings.seeds is not None:
            return settings.seeds
        return 1 if settings.quick else self.recorded_seeds

    def selected_cells(self, settings: ReproduceSettings) -> tuple[Cell, ...]:
        return (self.quick_cell,) if settings.quick else self.cells


def recorded_cell(record: Mapping[str, Any] | None, cell: str) -> Mapping[str, Any] | None:
    """The recorded cell a cell compares with (a quick cell: the one it shrinks), or None."""
    cells = (record or {}).get("cells", {})
    return cells.get(cell, cells.get(cell.removesuffix(QUICK_SUFFIX)))


def comparable_record(
    record: Mapping[str, Any] | None, cell: str, result: CellResult
) -> Mapping[str, Any]:
    """The recorded values of `cell` when it ran under the recorded settings, else {}."""
    found = recorded_cell(record, cell) or {}
    same = found.get("settings", {}).items() <= result["settings"].items()
    return found.get("values", {}) if same else {}
