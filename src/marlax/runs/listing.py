"""What is in a runs folder: one summary per run, and removing runs.

for run in list_runs(Path("runs")):
    print(run.name, run.state, run.env_steps, run.best_return)
remove_runs(Path("runs"), ["bold-otter-07"])
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from marlax.runs.folder import RunFolder, run_names
from marlax.runs.metrics import read_metrics
from marlax.validate import is_int, is_number


@dataclass(frozen=True)
class RunSummary:
    """One line of `marlax runs`."""

    name: str
    state: str
    """status.json's state ("running", "finished", "failed"), "stopped" for a running run
    whose process is gone, or "unknown" when there is no status."""
    env_steps: int | None
    """Environment steps of the last metrics row (else the status's `env_steps`)."""
    best_return: float | None
    """The largest `return` over the metric rows; None when no row has one."""
    updated: str | None
    """When the status was last written (ISO 8601, UTC)."""
    learner: str | None = None
    """What trained the run ("ppo", "meanfield_q", ...), from status.json; None if unknown."""


def summarize_run(run: RunFolder) -> RunSummary:
    """The summary of one run folder, from its status.json and metrics.jsonl."""
    status = run.read_status()
    state = status.get("state", "unknown")
    if state == "running" and not pid_alive(status.get("pid")):
        state = "stopped"
    rows = read_metrics(run.metrics_path)
    env_steps = rows[-1]["env_steps"] if rows else status.get("env_steps")
    returns = [row["return"] for row in rows if is_number(row.get("return"))]
    best_return = float(max(returns)) if returns else None
    learner = status.get("learner")
    return RunSummary(
        run.name,
        state,
        env_steps,
        best_return,
        status.get("updated"),
        learner if isinstance(learner, str) else None,
    )


def list_runs(runs_dir: Path) -> list[RunSummary]:
    """Summaries of the runs in `runs_dir` (folders with a config.json), newest first.

    Newest is by the last write of status.json (else config.json).
    """
    runs = [RunFolder(Path(runs_dir) / name) for name in run_names(runs_dir)]
    runs.sort(key=_last_activity, reverse=True)
    return [summarize_run(run) for run in runs]


def remove_runs(runs_dir: Path, names: list[str]) -> list[str]:
    """Delete the named run folders and return their names.

    Every name is checked first, so a typo removes nothing.

    Raises:
        ConfigError: a name is not a run in `runs_dir` (a folder holding a config.json).
    """
    runs = [RunFolder.open(runs_dir, name) for name in dict.fromkeys(names)]
    for run in runs:
        shutil.rmtree(run.path)
    return [run.name for run in runs]


def pid_alive(pid: object) -> bool:
    """True when a process with this id exists (on this machine)."""
    if not is_int(pid) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _last_activity(run: RunFolder) -> tuple[int, str]:
    path = run.status_path if run.status_path.is_file() else run.config_path
    return path.stat().st_mtime_ns, run.name
