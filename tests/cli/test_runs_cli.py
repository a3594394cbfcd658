"""`marlax runs` (the table) and `marlax clean` (by name or state, confirmation, errors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import marlax.cli.app as marlax_app
from marlax.cli.runs import register
from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import MetricsWriter


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app with the runs commands only."""

    register(app)
    return app


@pytest.fixture(scope="module")
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def runs_dir(tmp_path, dead_pid):
    """Four runs, oldest first: done (finished), oops (failed), gone (stopped), live (running)."""
    states = [("done", "finished"), ("oops", "failed"), ("gone", "running"), ("live", "running")]
    for age, (name, state) in enumerate(states):
        run = RunFolder.create(tmp_path, name, {"name": name})
        if name == "done":
            with MetricsWriter(run) as writer:
                writer.write(1024, {"return": 2.5})
                writer.write(2048, {"return": 1.25})
        run.write_status(state, **({"learner": "ppo"} if name == "done" else {}))
        if name == "gone":
            run.status_path.write_text(json.dumps(run.read_status() | {"pid": dead_pid}))
        stamp = 1_700_000_000 + age
        os.utime(run.status_path, (stamp, stamp))
    return tmp_path


def _invoke(app, *args, input=None):
    return CliRunner().invoke(app, list(args), input=input)


def _left(runs_dir) -> list[str]:
    return sorted(path.name for path in runs_dir.iterdir())


def test_runs_prints_a_table_newest_first(app, runs_dir):
    result = _invoke(app, "runs", "--runs-dir", str(runs_dir))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    header = ["name", "learner", "state", "env", "steps", "best", "return", "updated"]
    assert lines[0].split() == header
    rows = [line.split() for line in lines[1:]]
    assert [row[:3] for row in rows] == [
        ["live", "-", "running"], ["gone", "-", "stopped"], ["oops", "-", "failed"],
        ["done", "ppo", "finished"],
    ]  # fmt: skip
    assert rows[3][3:5] == ["2,048", "2.500"] and rows[0][3:5] == ["-", "-"]


def test_runs_on_an_empty_folder_says_so(app, tmp_path):
    result = _invoke(app, "runs", "--runs-dir", str(tmp_path / "none"))
    assert result.exit_code == 0 and result.output == f"no runs in {tmp_path / 'none'}\n"


def test_clean_named_with_yes_removes_it(app, runs_dir):
    result = _invoke(app, "clean", "done", "--yes", "--runs-dir", str(runs_dir))
    assert result.exit_code == 0, result.output
    assert result.output == f"removed {runs_dir / 'done'}\n"
    assert _left(runs_dir) == ["gone", "live", "oops"]


def test_clean_asks_first_and_no_keeps_everything(app, runs_dir):
    result = _invoke(app, "clean", "oops", "--runs-dir", str(runs_dir), input="n\n")
    assert (
        result.exit_code == 1
        and "Remove 1 run(s)" in result.output
        and "oops (failed)" in result.output
    )
    assert _left(runs_dir) == ["done", "gone", "live", "oops"]
    result = _invoke(app, "clean", "oops", "--runs-dir", str(runs_dir), input="y\n")
    assert result.exit_code == 0 and _left(runs_dir) == ["done", "gone", "live"]


@pytest.mark.parametrize(
    ("flags", "left"),
    [
        (["--stopped"], ["done", "live", "oops"]),
        (["--failed"], ["done", "gone", "live"]),
        (["--stopped", "--failed"], ["done", "live"]),
        (["--all"], ["live"]),  # a running run is never removed by a filter
        (["--all", "live"], []),  # only when named
    ],
)
def test_clean_by_state(app, runs_dir, flags, left):
    result = _invoke(app, "clean", *flags, "-y", "--runs-dir", str(runs_dir))
    assert result.exit_code == 0, result.output
    assert _left(runs_dir) == left


def test_clean_with_nothing_matching(app, runs_dir):
    _invoke(app, "clean", "--failed", "-y", "--runs-dir", str(runs_dir))
    result = _invoke(app, "clean", "--failed", "-y", "--runs-dir", str(runs_dir))
    assert result.exit_code == 0 and result.output == f"no runs to remove in {runs_dir}\n"


def test_clean_unknown_name_is_a_config_error_and_removes_nothing(app, runs_dir):
    result = _invoke(app, "clean", "done", "dnoe", "-y", "--runs-dir", str(runs_dir))
    assert isinstance(result.exception, ConfigError) and result.exception.value == "dnoe"
    assert "did you mean done?" in str(result.exception)
    assert _left(runs_dir) == ["done", "gone", "live", "oops"]
    result = _invoke(app, "clean", "-y", "--runs-dir", str(runs_dir))
    assert isinstance(result.exception, ConfigError) and result.exception.field == "clean"


def test_marlax_main_turns_an_unknown_run_into_one_line_and_exit_2(
    app, runs_dir, monkeypatch, capsys
):
    monkeypatch.setattr(marlax_app, "app", app)
    monkeypatch.setattr(sys, "argv", ["marlax", "clean", "nope", "--runs-dir", str(runs_dir)])
    with pytest.raises(SystemExit) as exit_info:
        marlax_app.main()
    assert exit_info.value.code == 2
    error_lines = capsys.readouterr().err.strip().splitlines()
    assert len(error_lines) == 1 and error_lines[0].startswith("error: run='nope': expected")
    assert _left(runs_dir) == ["done", "gone", "live", "oops"]
