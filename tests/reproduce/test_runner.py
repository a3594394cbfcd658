"""The runner on stand-in tables (no training): finished cells are saved and skipped on a
rerun, an interruption keeps the cells finished before it, outputs and differences."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
from rich.console import Console

from marlax.reproduce import ReproduceSettings, reproduce
from marlax.reproduce.runner import DIFFERENCES_FILE
from marlax.reproduce.table import Cell, Metric, Table
from marlax.reproduce.throughput import HEADING as THROUGHPUT_HEADING

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Counting:
    """A cell run that counts its calls and can be told to raise on one cell."""

    def __init__(self, rate: float = 100_000.0):
        self.calls: Counter[str] = Counter()
        self.interrupt_at: str | None = None
        self.rate = rate

    def __call__(self, cell: Cell, context) -> dict:
        if cell.name == self.interrupt_at:
            raise KeyboardInterrupt
        self.calls[cell.name] += 1
        return {
            "settings": {"env": cell.spec["env"], "num_envs": cell.spec["num_envs"], "steps": 100},
            "values": {"compile_s": 3.0, "env_steps_per_s": self.rate},
            "seconds": 0.5,
        }


def _table(run_cell, trains=False) -> Table:
    """Three cells under the throughput table's heading, so recorded.json applies."""
    cells = tuple(
        Cell(f"simple_spread-B{size}", {"env": "simple_spread", "num_envs": size})
        for size in (1, 64, 1024)
    )
    return Table(
        name="stand-in",
        heading=THROUGHPUT_HEADING,
        cells=cells,
        quick_cell=Cell("simple_spread-B1-quick", {"env": "simple_spread", "num_envs": 1}),
        run_cell=run_cell,
        metrics=(Metric("compile_s", "compile s"), Metric("env_steps_per_s", "env-steps/s", 0)),
        setting_columns=("env", "num_envs"),
        trains=trains,
    )


@pytest.fixture
def settings(tmp_path):
    return ReproduceSettings(out=tmp_path / "out", configs_dir=tmp_path)


def _quiet() -> Console:
    return Console(quiet=True)


def test_a_rerun_skips_finished_cells(settings):
    run_cell = _Counting()
    first = reproduce(settings, (_table(run_cell),), _quiet())
    assert len(first.computed) == 3
    stored = settings.out / "cells" / "stand-in" / "simple_spread-B64.json"
    before = stored.stat().st_mtime_ns
    second = reproduce(settings, (_table(run_cell),), _quiet())
    assert second.computed == [] and set(run_cell.calls.values()) == {1}
    assert stored.stat().st_mtime_ns == before
    assert [cell for cell, _ in second.results["stand-in"]] == [
        "simple_spread-B1",
        "simple_spread-B64",
        "simple_spread-B1024",
    ]


def test_an_interrupted_reproduction_resumes_at_the_first_unfinished_cell(settings):
    run_cell = _Counting()
    run_cell.interrupt_at = "simple_spread-B1024"
    with pytest.raises(KeyboardInterrupt):
        reproduce(settings, (_table(run_cell),), _quiet())
    assert run_cell.calls == {"simple_spread-B1": 1, "simple_spread-B64": 1}
    run_cell.interrupt_at = None
    resumed = reproduce(settings, (_table(run_cell),), _quiet())
    assert resumed.computed == ["stand-in / simple_spread-B1024"]
    assert set(run_cell.calls.values()) == {1}


def test_other_options_rerun_a_training_table(settings):
    run_cell = _Counting()
    reproduce(settings, (_table(run_cell, trains=True),), _quiet())
    scaled = dataclasses.replace(settings, budget_scale=0.5)
    again = reproduce(scaled, (_table(run_cell, trains=True),), _quiet())
    assert len(again.computed) == 3 and set(run_cell.calls.values()) == {2}


def test_outputs_and_differences_against_recorded_json(settings):
    # recorded simple_spread: B=1 116,297, B=64 514,792, B=1024 486,669 env-steps/s;
    # 100,000 is 0.86x, 0.19x and 0.21x of them: the two large batches differ (band 3x)
    reproduction = reproduce(settings, (_table(_Counting(rate=100_000.0)),), _quiet())
    differing = [v for v in reproduction.verdicts if not v.matches]
    assert [(v.cell, v.metric) for v in differing] == [
        ("simple_spread-B64", "env_steps_per_s"),
        ("simple_spread-B1024", "env_steps_per_s"),
    ]
    report = (settings.out / DIFFERENCES_FILE).read_text()
    assert "4 values match their record, 2 differ." in report
    assert "- DIFFERS stand-in / simple_spread-B64 / env_steps_per_s: measured 100,000" in report
    assert "not reproduced: Training throughput vs JaxMARL's IPPO" in report
    markdown = (settings.out / "stand-in.md").read_text()
    assert "| simple_spread-B64 | simple_spread | 64 | 3.00 (3.00) | 100,000 (514,792) | 0 |" in (
        markdown
    )
    assert (settings.out / "stand-in.png").read_bytes().startswith(PNG_MAGIC)


def test_a_quick_cell_compares_with_the_cell_it_shrinks(settings):
    quick = dataclasses.replace(settings, quick=True)
    reproduction = reproduce(quick, (_table(_Counting(rate=116_000.0)),), _quiet())
    assert [(v.cell, v.matches) for v in reproduction.verdicts] == [
        ("simple_spread-B1-quick", True),
        ("simple_spread-B1-quick", True),
    ]
