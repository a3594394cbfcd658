"""`marlax reproduce`: --quick runs every table's tiny cell through the real code paths and
writes tables and figures; a rerun reuses finished cells; bad input is one line, exit 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from marlax.cli.reproduce import TABLE_NAMES, register
from marlax.reproduce import TABLES

pytestmark = pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """marlax (test app)."""

    register(app)
    return app


def _reproduce(out: Path, *args: str):
    arguments = ["reproduce", *args, "--quick", "--out", str(out), "--configs", str(CONFIGS)]
    return CliRunner().invoke(_app(), arguments)


def test_table_names_are_the_registry():
    assert tuple(table.name for table in TABLES) == TABLE_NAMES


@pytest.mark.slow  # ~65 s: every table end to end (the fast tier keeps the registry and CLI checks)
def test_quick_runs_every_table_and_a_rerun_reuses_finished_cells(tmp_path):
    """`marlax reproduce --quick` in the fast tier, as the issue asks of CI (about a minute of
    CPU, nearly all of it compiling one PPO, one Q-learning and one coordination program)."""
    out = tmp_path / "repro"
    first = _reproduce(out, "env-throughput")
    assert first.exit_code == 0, first.output
    assert "ran 1 cells, reused 0 finished before" in first.output
    stored = out / "cells" / "env-throughput" / "simple_spread-B1-quick.json"
    before = stored.stat().st_mtime_ns

    every = _reproduce(out)  # as if the first run had been interrupted after one table
    assert every.exit_code == 0, every.output
    assert "ran 3 cells, reused 1 finished before" in every.output
    assert stored.stat().st_mtime_ns == before
    for table in TABLES:
        assert f"## {table.heading}" in (out / f"{table.name}.md").read_text()
        assert (out / f"{table.name}.png").read_bytes().startswith(PNG_MAGIC)
    assert (out / "coordination-figure.png").read_bytes().startswith(PNG_MAGIC)
    # the training cells ran as `marlax train` runs, evaluated as `marlax eval` plays
    for run in ("learning-simple_spread-quick", "value-qmix-quick"):
        status = json.loads((out / "runs" / run / "status.json").read_text())
        assert status["state"] == "finished"
    learning = json.loads((out / "cells" / "learning" / "simple_spread-quick.json").read_text())
    assert learning["result"]["settings"] == {"env_steps": 100}  # 4 envs x 25 steps
    assert set(learning["result"]["values"]) == {"random", "trained"}
    # simple_spread returns per agent lie in (-inf, 0]
    assert learning["result"]["values"]["random"]["mean"] < 0
    value = json.loads((out / "cells" / "value-based" / "qmix-quick.json").read_text())
    team = value["result"]["values"]["team_return"]
    assert team["low"] <= team["mean"] <= team["high"] < 0
    report = (out / "differences.md").read_text()
    assert "not compared learning / simple_spread-quick: settings differ: env_steps 100" in report

    again = _reproduce(out)
    assert again.exit_code == 0 and "ran 0 cells, reused 4 finished before" in again.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--budget-scale", "-1"], "budget_scale"),
        (["--budget-scale", "0"], "budget_scale"),
        (["--seeds", "0"], "seeds"),
        (["no-such-table"], "table"),
        (["--configs", "/no/such/folder"], "configs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, args, field):
    from marlax.cli.app import main

    out = tmp_path / "repro"
    monkeypatch.setattr(sys, "argv", ["marlax", "reproduce", *args, "--out", str(out)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {field}=")
    if field == "table":
        assert all(repr(name) in stderr for name in TABLE_NAMES)  # the valid names
    assert not out.exists()
