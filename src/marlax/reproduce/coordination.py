"""Coordination operators: pipeline latency and memory against the team size N.

The measurement of `marlax bench` and `benchmarks/coordination.py` (`measure_pipeline`):
B = 32, D = 64, M = 100 tasks, forward with assignment and d/dparams of mean(output^2),
median of 3 calls after compile; the table's figure is `marlax bench`'s scaling plot.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax

from marlax.bench import ScalingRow, measure_pipeline, plot_scaling
from marlax.reproduce.table import Cell, CellContext, CellResult, Metric, Table

HEADING = "1. Pipeline scaling in N (`marlax bench`, M fixed)"
TEAM_SIZES = (100, 500, 1000, 2000, 5000)
REPEATS = 3
_MIB = 1024**2


def run_scaling_cell(cell: Cell, context: CellContext) -> CellResult:
    """Time and size the pipeline at one N."""
    del context
    start = time.perf_counter()
    sizes = {"batch": 32, "dim": 64, "tasks": 100, **cell.spec}
    row = measure_pipeline(
        jax.random.key(0),
        sizes["num_agents"],
        batch=sizes["batch"],
        dim=sizes["dim"],
        num_tasks=sizes["tasks"],
        repeats=sizes.get("repeats", REPEATS),
    )
    return {
        "settings": {name: sizes[name] for name in ("num_agents", "batch", "dim", "tasks")},
        "values": {
            "forward_ms": row.forward_s * 1e3,
            "gradient_ms": row.gradient_s * 1e3,
            "compile_s": row.compile_s,
            "forward_temp_mib": row.forward_temp_bytes / _MIB,
            "gradient_temp_mib": row.gradient_temp_bytes / _MIB,
            "peak_rss_mib": row.peak_rss_bytes / _MIB,
        },
        "seconds": time.perf_counter() - start,
    }


def scaling_figure(results: list[tuple[str, CellResult]], path: Path) -> None:
    """`marlax bench`'s plot (latency and memory against N, slope-1 guides) of the cells."""
    rows = sorted(
        (
            ScalingRow(
                num_agents=result["settings"]["num_agents"],
                forward_s=result["values"]["forward_ms"] / 1e3,
                gradient_s=result["values"]["gradient_ms"] / 1e3,
                compile_s=result["values"]["compile_s"],
                forward_temp_bytes=int(result["values"]["forward_temp_mib"] * _MIB),
                gradient_temp_bytes=int(result["values"]["gradient_temp_mib"] * _MIB),
                peak_rss_bytes=int(result["values"]["peak_rss_mib"] * _MIB),
            )
            for _, result in results
        ),
        key=lambda row: row.num_agents,
    )
    plot_scaling(rows, path)


TABLE = Table(
    name="coordination",
    heading=HEADING,
    cells=tuple(Cell(f"N{size}", {"num_agents": size}) for size in TEAM_SIZES),
    quick_cell=Cell("N100-quick", {"num_agents": 100, "batch": 4, "repeats": 1}),
    run_cell=run_scaling_cell,
    metrics=(
        Metric("forward_ms", "forward ms", 1),
        Metric("gradient_ms", "gradient ms", 1),
        Metric("compile_s", "compile s", 1),
        Metric("forward_temp_mib", "fwd XLA temp MiB", 1),
        Metric("gradient_temp_mib", "grad XLA temp MiB", 1),
        Metric("peak_rss_mib", "peak RSS MiB", 0),
    ),
    setting_columns=("num_agents", "batch"),
    figure=scaling_figure,
)
