"""Finished cells on disk: one JSON file per cell, written atomically, so a rerun skips it.

out/cells/<table>/<cell>.json = {"key": {...options}, "result": {...CellResult}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from marlax.runs.atomic import write_json_atomic
from marlax.runs.jsonable import jsonable

CELLS_DIR = "cells"


def cell_path(out: Path, table: str, cell: str) -> Path:
    return out / CELLS_DIR / table / f"{cell}.json"


def save_cell(path: Path, key: dict[str, Any], result: dict[str, Any]) -> None:
    """Write a finished cell in one step (an interruption leaves the old file or none)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path, jsonable({"key": key, "result": result}))


def load_cell(path: Path, key: dict[str, Any]) -> dict[str, Any] | None:
    """The stored result when it was run with these options, else None (run it again)."""
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return stored["result"] if stored.get("key") == jsonable(key) else None
