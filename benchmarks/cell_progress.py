"""A benchmark cell's progress: a rich bar plus a console line about every tenth of its updates.

Shared by the learning scripts (`learning.py`, `coverage_learning.py`); not a benchmark itself.
"""

from __future__ import annotations

import time

import numpy as np
from rich.progress import Progress


class CellProgress:
    """A cell's progress bar plus a log line about every 10% of its updates.

    The bar shows in a terminal; the lines also reach a log file, where rich draws no live bar
    (a long cell would otherwise print nothing until it ends)."""

    def __init__(self, progress: Progress, label: str, total_updates: int) -> None:
        self.progress, self.label, self.total = progress, label, total_updates
        self.task = progress.add_task(label, total=total_updates)
        self.done, self.next_line, self.start = 0, max(1, total_updates // 10), time.perf_counter()

    def advance(self, updates: int, train_return: float | None = None) -> None:
        """After a host call of `updates` updates whose mean train return was `train_return`
        (None: a trainer that reports none; the line then leaves it out)."""
        self.done += updates
        self.progress.advance(self.task, updates)
        if self.done >= self.next_line or self.done == self.total:
            self.next_line = self.done + max(1, self.total // 10)
            reported = "" if train_return is None else f", train return {train_return:.3f}"
            self.progress.console.print(
                f"{self.label}: {self.done}/{self.total} updates{reported}"
                f" ({time.perf_counter() - self.start:.0f} s)"
            )

    def evaluated(self, env_steps: int, trained: np.ndarray) -> None:
        """After an evaluation during training; `trained` f32[S] is each seed's mean return."""
        self.progress.console.print(
            f"{self.label}: eval at {env_steps:,} env steps, trained per seed"
            f" [{', '.join(f'{float(v):.3f}' for v in trained)}]"
            f" ({time.perf_counter() - self.start:.0f} s)"
        )

    def close(self) -> None:
        """Remove the cell's bar (the cell is done)."""
        self.progress.remove_task(self.task)
