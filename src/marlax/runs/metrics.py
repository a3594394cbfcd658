"""Metrics of a run: JSON lines (metrics.jsonl) and TensorBoard events (tb/).

    writer = MetricsWriter(run)
    writer.truncate_after(resumed_env_steps)    # only when resuming
    writer.write(env_steps, {"update": 3, "return": 1.5, "loss/policy": -0.02})
    writer.close()
    rows = read_metrics(run.metrics_path)       # [{"env_steps": ..., "update": ..., ...}, ...]

Keys the trainer emits: `update`, `return` (mean over tasks), `return/<task>`, `length/<task>`,
`loss/policy`, `loss/value`, `loss/entropy`, `loss/approx_kl`, `loss/clip_fraction`, `sps`.
Each row is flushed and fsynced, so a killed trainer loses at most the row it was writing;
`read_metrics` skips such a torn last line.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tensorboardX import SummaryWriter

from marlax.runs.atomic import write_atomic
from marlax.runs.folder import RunFolder
from marlax.runs.jsonable import finite_or_none

STEP_KEY = "env_steps"
"""The x axis of every row: environment steps taken so far (summed over envs and devices)."""


class MetricsWriter:
    """Appends metric rows to a run's metrics.jsonl and its TensorBoard event file."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        folder.path.mkdir(parents=True, exist_ok=True)
        self._lines = open(folder.metrics_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open
        if _ends_mid_line(folder.metrics_path):
            self._lines.write("\n")  # a killed writer's torn row must not swallow the next one
        self._tensorboard: SummaryWriter | None = None  # opened by the first write
        self._purge_step: int | None = None

    def write(self, step: int, metrics: Mapping[str, Any]) -> None:
        """Append `{"env_steps": step, **metrics}`; None and non-finite values become null.

        Args:
            step: environment steps so far (the x axis).
            metrics: scalar values (Python, numpy or 0-d jax) by key; ints stay ints.
        """
        row: dict[str, Any] = {STEP_KEY: int(step)}
        for key, value in metrics.items():
            if key != STEP_KEY:
                row[str(key)] = _json_scalar(key, value)
        self._lines.write(json.dumps(row, allow_nan=False) + "\n")
        self._lines.flush()
        os.fsync(self._lines.fileno())
        tensorboard = self._open_tensorboard()
        for key, value in row.items():
            if key != STEP_KEY and value is not None:
                tensorboard.add_scalar(key, float(value), global_step=row[STEP_KEY])
        tensorboard.flush()

    def truncate_after(self, step: int) -> None:
        """Drop the rows (and TensorBoard events) past `step`: a resumed run repeats them.

        The JSON lines are rewritten atomically; TensorBoard is told to purge events
        from `step + 1` on (tensorboardX's `purge_step`).
        """
        kept = [row for row in read_metrics(self.folder.metrics_path) if row[STEP_KEY] <= step]
        self._lines.close()
        text = "".join(json.dumps(row, allow_nan=False) + "\n" for row in kept)
        write_atomic(self.folder.metrics_path, text.encode("utf-8"))
        self._lines = open(self.folder.metrics_path, "a", encoding="utf-8")  # noqa: SIM115
        self._close_tensorboard()
        self._purge_step = step + 1

    def close(self) -> None:
        """Flush and close both files."""
        self._lines.close()
        self._close_tensorboard()

    def _open_tensorboard(self) -> SummaryWriter:
        """The event writer; each gets its own file (tensorboardX names files by the second)."""
        if self._tensorboard is None:
            self._tensorboard = SummaryWriter(
                str(self.folder.tensorboard_dir),
                purge_step=self._purge_step,
                filename_suffix=f".{time.time_ns()}",  # sorts after older files, never clobbers
            )
        return self._tensorboard

    def _close_tensorboard(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None

    def __enter__(self) -> MetricsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl in order; [] when the file does not exist.

    Blank lines and a torn line (a writer killed mid-row) are skipped.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    rows = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get(STEP_KEY), int):
            rows.append(row)
    return rows


def _ends_mid_line(path: Path) -> bool:
    """True when the file is non-empty and its last byte is not a newline."""
    with open(path, "rb") as file:
        if file.seek(0, os.SEEK_END) == 0:
            return False
        file.seek(-1, os.SEEK_END)
        return file.read(1) != b"\n"


def _json_scalar(key: str, value: Any) -> int | float | None:
    """`value` as a JSON number: ints stay ints, None and non-finite floats become None."""
    try:
        scalar = finite_or_none(value)
    except ValueError:
        raise ValueError(f"metric {key!r} must be one number, got {value!r}") from None
    return int(scalar) if isinstance(scalar, bool) else scalar
