"""A reproduced table as markdown: one row per cell (per task of a multi-task cell), each
value beside its recorded number."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marlax.reproduce.compare import Value
from marlax.reproduce.table import CellResult, Table, comparable_record, recorded_cell


def _format(value: Value | None, decimals: int) -> str:
    if value is None:
        return "-"
    text = f"{value.mean:,.{decimals}f}"
    if value.std is not None:
        text += f" +- {value.std:,.{decimals}f}"
    if value.low is not None and value.high is not None:
        text += f" [{value.low:,.{decimals}f}, {value.high:,.{decimals}f}]"
    return text


def _entry(measured: Any, recorded: Any, decimals: int) -> str:
    """'measured (recorded)', '-' for a value not measured."""
    text = _format(None if measured is None else Value.from_json(measured), decimals)
    if recorded is not None:
        text += f" ({_format(Value.from_json(recorded), decimals)})"
    return text


def value_rows(cell: str, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Row label -> {metric: value json}; a "task: metric" key goes to the row "cell (task)"."""
    rows: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        task, _, metric = key.rpartition(": ")
        rows.setdefault(f"{cell} ({task})" if task else cell, {})[metric] = value
    return rows


def table_markdown(
    table: Table,
    results: list[tuple[str, CellResult]],
    record: Mapping[str, Any] | None,
) -> str:
    """The table: settings columns, then "measured (recorded)" per metric, and wall seconds."""
    header = ["cell", *table.setting_columns, *(m.label for m in table.metrics), "wall s"]
    lines = [
        f"## {table.heading}",
        "",
        "Each value: measured (recorded in BENCHMARKS.md, where the settings match).",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
    ]
    for cell, result in results:
        recorded_rows = value_rows(cell, comparable_record(record, cell, result))
        for label, values in value_rows(cell, result["values"]).items():
            settings = [f"{result['settings'].get(name, '-')}" for name in table.setting_columns]
            entries = [
                _entry(values.get(m.key), recorded_rows.get(label, {}).get(m.key), m.decimals)
                for m in table.metrics
            ]
            seconds = f"{result['seconds']:.0f}"
            lines.append(f"| {label} | " + " | ".join([*settings, *entries, seconds]) + " |")
    for cell, _ in results:
        note = (recorded_cell(record, cell) or {}).get("note")
        lines += ["", f"Note on {cell}: {note}."] if note else []
    if record and record.get("tolerance_note"):
        lines += ["", f"Match: {record['tolerance_note']}"]
    return "\n".join(lines) + "\n"
