"""Listing runs: states (stopped = running with a dead pid), env steps, best return, order."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from marlax.errors import ConfigError
from marlax.runs.folder import RunFolder
from marlax.runs.listing import RunSummary, list_runs, pid_alive, remove_runs
from marlax.runs.metrics import MetricsWriter


@pytest.fixture(scope="module")
def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid no longer names a process
    return child.pid


def make_run(runs_dir, name, state, rows=(), pid=None, age=0, **fields) -> RunFolder:
    """A run with a status and metric rows; `age` seconds back in time (larger = older)."""
    run = RunFolder.create(runs_dir, name, {"name": name})
    if rows:
        with MetricsWriter(run) as writer:
            for step, metrics in rows:
                writer.write(step, metrics)
    run.write_status(state, **fields)
    if pid is not None:  # a status written by another process
        status = run.read_status() | {"pid": pid}
        run.status_path.write_text(json.dumps(status))
    stamp = 1_700_000_000 - age
    for path in (run.config_path, run.status_path):
        os.utime(path, (stamp, stamp))
    return run


def test_pid_alive(dead_pid):
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid)
    assert not pid_alive(None) and not pid_alive(0) and not pid_alive(-3) and not pid_alive("7")


def test_summaries_newest_first_with_states_steps_and_best_return(tmp_path, dead_pid):
    rows = [(64, {"return": 1.0}), (128, {"return": 3.5}), (192, {"return": None})]
    make_run(tmp_path, "done", "finished", rows=rows, age=30)
    make_run(tmp_path, "live", "running", rows=[(64, {"return": -2.0})], age=10)
    make_run(tmp_path, "gone", "running", pid=dead_pid, env_steps=512, age=20)
    make_run(tmp_path, "broke", "failed", rows=[(32, {"loss/value": 1.0})], age=40)
    (tmp_path / "stray").mkdir()  # not a run: no config.json
    summaries = list_runs(tmp_path)
    assert [(s.name, s.state, s.env_steps, s.best_return) for s in summaries] == [
        ("live", "running", 64, -2.0),
        ("gone", "stopped", 512, None),
        ("done", "finished", 192, 3.5),
        ("broke", "failed", 32, None),
    ]
    assert all(isinstance(summary, RunSummary) for summary in summaries)
    assert summaries[0].updated == RunFolder(tmp_path / "live").read_status()["updated"]


def test_a_run_without_status_is_unknown(tmp_path):
    run = make_run(tmp_path, "r", "running")
    run.status_path.unlink()
    assert list_runs(tmp_path) == [RunSummary("r", "unknown", None, None, None)]


def test_no_runs(tmp_path):
    assert list_runs(tmp_path) == []
    assert list_runs(tmp_path / "missing") == []


def test_remove_runs_removes_only_the_named_runs(tmp_path):
    for name in ("a", "b", "c"):
        make_run(tmp_path, name, "finished")
    assert remove_runs(tmp_path, ["a", "c", "a"]) == ["a", "c"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["b"]


@pytest.mark.parametrize("bad", ["missing", "stray", "..", "../b"])
def test_remove_runs_refuses_what_is_not_a_run_and_removes_nothing(tmp_path, bad):
    runs_dir = tmp_path / "runs"
    make_run(runs_dir, "a", "finished")
    make_run(runs_dir, "b", "finished")
    (runs_dir / "stray").mkdir()
    with pytest.raises(ConfigError) as error:
        remove_runs(runs_dir, ["a", bad])
    assert error.value.field == "run" and error.value.value == bad
    assert sorted(path.name for path in runs_dir.iterdir()) == ["a", "b", "stray"]
    assert (tmp_path / "runs").is_dir()
