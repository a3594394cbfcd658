"""`benchmarks/learning.py` and `coverage_learning.py` report a long cell while it trains
(`benchmarks/cell_progress.py`): a bar in a terminal and a log line about every 10% of its
updates (a log file gets no live bar)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import Progress

from tests.benchmarks.loader import load_benchmark


def _recorded_bar(total: int) -> tuple[Any, io.StringIO, Progress]:
    log = io.StringIO()
    progress = Progress(console=Console(file=log, width=200))
    return load_benchmark("cell_progress").CellProgress(progress, "cell", total), log, progress


def test_a_line_every_tenth_of_the_updates_and_one_at_the_end() -> None:
    """25 updates one per host call: a line at 2, 4, ..., 24 (every 25 // 10) and at 25."""
    bar, log, progress = _recorded_bar(25)
    with progress:
        for call in range(25):
            bar.advance(1, float(call))
    lines = [line for line in log.getvalue().splitlines() if "updates, train return" in line]
    done = [int(line.split(": ")[1].split("/")[0]) for line in lines]
    assert done == [*range(2, 25, 2), 25]
    assert lines[-1].startswith("cell: 25/25 updates, train return 24.000")
    assert progress.tasks[0].completed == 25


def test_host_calls_of_many_updates_print_once_per_call_crossing_a_tenth() -> None:
    """A host call of 50 updates out of 100 crosses five tenths but prints one line."""
    bar, log, progress = _recorded_bar(100)
    with progress:
        bar.advance(50, 1.5)
        bar.advance(50, 2.5)
    lines = [line for line in log.getvalue().splitlines() if "updates, train return" in line]
    assert [line.split(" (")[0] for line in lines] == [
        "cell: 50/100 updates, train return 1.500",
        "cell: 100/100 updates, train return 2.500",
    ]


def test_without_a_train_return_the_line_leaves_it_out() -> None:
    """coverage_learning's trainer reports no return: its lines give updates and seconds."""
    bar, log, progress = _recorded_bar(10)
    with progress:
        bar.advance(5)
        bar.advance(5)
    lines = [line for line in log.getvalue().splitlines() if "updates" in line]
    assert [line.split(" (")[0] for line in lines] == ["cell: 5/10 updates", "cell: 10/10 updates"]
    assert all(line.endswith(" s)") for line in lines)


def test_an_evaluation_line_gives_each_seed_mean_return() -> None:
    bar, log, progress = _recorded_bar(10)
    with progress:
        bar.evaluated(409_600, np.asarray([0.1234, 6.3, 8.14159], np.float32))
    expected = "cell: eval at 409,600 env steps, trained per seed [0.123, 6.300, 8.142]"
    assert expected in log.getvalue()


def test_closing_removes_the_cell_bar() -> None:
    bar, _, progress = _recorded_bar(10)
    bar.close()
    assert progress.tasks == []
