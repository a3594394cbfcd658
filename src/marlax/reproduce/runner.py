"""Run the selected tables cell by cell: progress bar, resume, outputs, differences.

    reproduction = reproduce(settings, select_tables(["env-throughput"]), Console())

Every finished cell is saved at once (`store`), so an interrupted reproduction resumes at
the first unfinished cell, and a training cell resumes from its run's last checkpoint.
After each table, `<out>/<table>.md` and `<out>/<table>.png` are (re)written from all its
finished cells; at the end `<out>/differences.md` lists every value outside its recorded
band, the cells that could not be compared, and the tables not reproduced here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marlax.algorithms.common.host_loop import TrainingDivergedError
from marlax.reproduce.compare import NotCompared, Tolerance, Verdict, compare_cell
from marlax.reproduce.compare import difference_lines as compare_lines
from marlax.reproduce.figures import plot_table
from marlax.reproduce.markdown import table_markdown
from marlax.reproduce.settings import ReproduceSettings
from marlax.reproduce.store import cell_path, load_cell, save_cell
from marlax.reproduce.table import CellContext, CellResult, Table, recorded_cell
from marlax.reproduce.tables import NOT_REPRODUCED

DIFFERENCES_FILE = "differences.md"


def load_recorded() -> dict[str, Any]:
    """recorded.json's tables: heading -> {"cells", "tolerance", "tolerance_note", ...}."""
    text = resources.files("marlax.reproduce").joinpath("recorded.json").read_text("utf-8")
    return json.loads(text)["tables"]


@dataclass
class Reproduction:
    """What a reproduction measured, judged and wrote."""

    results: dict[str, list[tuple[str, CellResult]]] = field(default_factory=dict)
    """Table name -> (cell name, result) of every selected cell that finished."""
    verdicts: list[Verdict | NotCompared] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """'table / cell: message' of cells whose training diverged (retried on the next run)."""
    computed: list[str] = field(default_factory=list)
    """'table / cell' of the cells run now (the others were finished before)."""


def reproduce(
    settings: ReproduceSettings, tables: tuple[Table, ...], console: Console
) -> Reproduction:
    """Run (or reuse) every selected cell of `tables`, write the outputs, judge the values."""
    recorded = load_recorded()
    reproduction = Reproduction()
    settings.out.mkdir(parents=True, exist_ok=True)
    total = sum(len(table.selected_cells(settings)) for table in tables)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("reproducing", total=total)
        for table in tables:
            context = CellContext(
                settings, table.seeds(settings), settings.out / "runs", progress.console
            )
            results = _run_table(table, context, reproduction, progress, bar)
            reproduction.results[table.name] = results
            if results:
                _write_table(table, results, recorded.get(table.heading), settings)
    reproduction.verdicts = _judge(tables, reproduction.results, recorded)
    _write_differences(reproduction, settings)
    return reproduction


def _run_table(
    table: Table, context: CellContext, reproduction: Reproduction, progress: Progress, bar: Any
) -> list[tuple[str, CellResult]]:
    """Each selected cell: the stored result when it finished before, else run and save it."""
    results = []
    key = table.cell_key(context.settings)
    for cell in table.selected_cells(context.settings):
        progress.update(bar, description=f"{table.name} / {cell.name}")
        path = cell_path(context.settings.out, table.name, cell.name)
        result = load_cell(path, key)
        if result is None:
            try:
                result = table.run_cell(cell, context)
            except TrainingDivergedError as error:
                reproduction.failed.append(f"{table.name} / {cell.name}: {error}")
                progress.advance(bar)
                continue
            save_cell(path, key, result)
            reproduction.computed.append(f"{table.name} / {cell.name}")
        results.append((cell.name, result))
        progress.advance(bar)
    return results


def _write_table(
    table: Table,
    results: list[tuple[str, CellResult]],
    record: dict[str, Any] | None,
    settings: ReproduceSettings,
) -> None:
    """`<table>.md`, `<table>.png`, and the table's own figure `<table>-figure.png`."""
    (settings.out / f"{table.name}.md").write_text(table_markdown(table, results, record))
    plot_table(table, results, record, settings.out / f"{table.name}.png")
    if table.figure is not None:
        table.figure(results, settings.out / f"{table.name}-figure.png")


def _judge(
    tables: tuple[Table, ...],
    results: dict[str, list[tuple[str, CellResult]]],
    recorded: dict[str, Any],
) -> list[Verdict | NotCompared]:
    """Every finished cell against its record (see `compare.compare_cell`)."""
    judged: list[Verdict | NotCompared] = []
    for table in tables:
        record = recorded.get(table.heading, {})
        tolerances = {
            metric: Tolerance.from_json(band)
            for metric, band in record.get("tolerance", {"default": {"ratio": 1.0}}).items()
        }
        for cell, result in results.get(table.name, []):
            found = compare_cell(table.name, cell, result, recorded_cell(record, cell), tolerances)
            judged += [found] if isinstance(found, NotCompared) else found
    return judged


def difference_lines(reproduction: Reproduction) -> list[str]:
    """The report: differences, cells not compared, failed cells, tables not reproduced."""
    lines = compare_lines(reproduction.verdicts)
    lines += [f"- FAILED {failure}" for failure in reproduction.failed]
    lines += [f"- not reproduced: {heading}: {why}" for heading, why in NOT_REPRODUCED.items()]
    return lines


def _write_differences(reproduction: Reproduction, settings: ReproduceSettings) -> None:
    text = "# Differences from BENCHMARKS.md\n\n" + "\n".join(difference_lines(reproduction))
    (settings.out / DIFFERENCES_FILE).write_text(text + "\n")
