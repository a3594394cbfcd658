"""A run folder `runs/<name>/` and the paths inside it.

    run = RunFolder.create(Path("runs"), new_run_name(Path("runs")), config)
    run.write_status("running", update=10, env_steps=40_960)
    ...
    run = RunFolder.open(Path("runs"), "bold-otter-07")      # for --resume / enjoy

Layout:
    config.json     the resolved config (written once, atomically)
    status.json     {"state": "running" | "finished" | "failed" | "stopped", "pid", "updated", ...}
    checkpoints/    orbax step folders (`marlax.runs.checkpoint`)
    metrics.jsonl   one JSON row per update (`marlax.runs.metrics`)
    tb/             TensorBoard events
    curves.png      return and loss curves (`marlax.runs.plots`)
    videos/         recorded episodes
"""

from __future__ import annotations

import datetime
import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marlax.errors import ConfigError
from marlax.runs.atomic import write_json_atomic
from marlax.runs.jsonable import jsonable
from marlax.runs.naming import is_valid_run_name

DEFAULT_RUNS_DIR = Path("runs")
"""Where runs go unless a command says otherwise (relative to the working directory)."""

RUN_STATES: tuple[str, ...] = ("running", "finished", "failed", "stopped")
"""The states a learner writes to status.json: "stopped" after SIGINT/SIGTERM (resumable).
Listing also shows "stopped" for a run still marked running whose process is gone."""

_SHOWN_RUNS = 10  # names listed in the error for a missing run


@dataclass(frozen=True)
class RunFolder:
    """The folder of one run; `create` or `open` it rather than building it directly."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / "tb"

    @property
    def curves_path(self) -> Path:
        return self.path / "curves.png"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def videos_dir(self) -> Path:
        return self.path / "videos"

    @classmethod
    def create(cls, runs_dir: Path, name: str, config: dict) -> RunFolder:
        """Make `runs_dir/name/` with its config.json and a `running` status.

        Raises:
            ConfigError: `name` is not a valid run name, or a run by that name exists.
        """
        if not is_valid_run_name(name):
            raise ConfigError("run.name", name, "lowercase letters, digits, '-' and '_' only")
        config_json = json.dumps(config, indent=2, allow_nan=False)  # fail before mkdir
        runs_dir = Path(runs_dir)
        runs_dir.mkdir(parents=True, exist_ok=True)
        try:
            (runs_dir / name).mkdir()
        except FileExistsError:
            raise ConfigError("run.name", name, f"a name not used in {runs_dir}") from None
        run = cls(runs_dir / name)
        write_json_atomic(run.config_path, json.loads(config_json))
        run.write_status("running")
        return run

    @classmethod
    def open(cls, runs_dir: Path, name: str) -> RunFolder:
        """The existing run `runs_dir/name/` (one that holds a config.json).

        Raises:
            ConfigError: no such run; the message lists the runs there and the closest name.
        """
        runs_dir = Path(runs_dir)
        if is_valid_run_name(name) and (runs_dir / name / "config.json").is_file():
            return cls(runs_dir / name)
        names = run_names(runs_dir)
        if not names:
            raise ConfigError("run", name, f"an existing run in {runs_dir} (it has none)")
        shown = ", ".join(names[:_SHOWN_RUNS]) + (", ..." if len(names) > _SHOWN_RUNS else "")
        close = difflib.get_close_matches(str(name), names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError("run", name, f"an existing run in {runs_dir}: {shown}{hint}")

    def read_config(self) -> dict:
        """The config saved when the run was created."""
        return json.loads(self.config_path.read_text(encoding="utf-8"))

    def write_status(self, state: str, **fields: Any) -> None:
        """Replace status.json by `{"state", "pid", "updated", **fields}`, atomically.

        Args:
            state: one of `RUN_STATES`.
            **fields: JSON-able extras, e.g. `env_steps=4096, update=1, message="..."`;
                a NaN or infinite number (a best return when no episode ended) is written
                as null.
        """
        if state not in RUN_STATES:
            raise ValueError(f"run state {state!r} is not one of {RUN_STATES}")
        updated = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        status = {"state": state, "pid": os.getpid(), "updated": updated, **fields}
        write_json_atomic(self.status_path, jsonable(status))

    def read_status(self) -> dict:
        """The last status written; {} when the run has none."""
        try:
            return json.loads(self.status_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}


def run_names(runs_dir: Path) -> list[str]:
    """Names of the folders in `runs_dir` that hold a config.json, newest first."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        return []
    configs = [entry / "config.json" for entry in runs_dir.iterdir() if entry.is_dir()]
    configs = [config for config in configs if config.is_file()]
    configs.sort(key=lambda config: (config.stat().st_mtime_ns, config.parent.name), reverse=True)
    return [config.parent.name for config in configs]
