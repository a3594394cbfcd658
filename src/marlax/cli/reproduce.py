"""`marlax reproduce [TABLE ...]`: re-run BENCHMARKS.md's tables and report the differences.

Examples:
    marlax reproduce --quick                      # one tiny cell per table (CI smoke test)
    marlax reproduce env-throughput coordination  # the timing tables only
    marlax reproduce learning --budget-scale 0.25 --seeds 1 --out /tmp/repro

Tables, figures and every finished cell go to --out; rerunning the same command after an
interruption skips the finished cells (and resumes a training cell from its checkpoint).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

TABLE_NAMES = ("coordination", "env-throughput", "learning", "value-based")
"""The valid TABLE arguments (checked against `marlax.reproduce.TABLES` in the tests)."""
_TABLES_HELP = f"Tables to re-run (default: all): {', '.join(TABLE_NAMES)}."


def register(app: typer.Typer) -> None:
    """Add the `reproduce` command to `app`."""
    app.command("reproduce")(reproduce_command)


def reproduce_command(
    tables: list[str] | None = typer.Argument(  # noqa: B008 - typer declares arguments in defaults
        None, metavar="[TABLE]...", help=_TABLES_HELP
    ),
    budget_scale: float = typer.Option(
        1.0, "--budget-scale", help="x the recorded env steps of every learning cell."
    ),
    seeds: int | None = typer.Option(
        None, "--seeds", help="Seeds per learning cell (default: as recorded)."
    ),
    out: Path = typer.Option(  # noqa: B008
        Path("reproduction"), "--out", help="Folder for tables, figures and finished cells."
    ),
    quick: bool = typer.Option(False, "--quick", help="Only one tiny cell per table (CI)."),
    configs: Path | None = typer.Option(  # noqa: B008
        None, "--configs", help="Folder of the shipped configs (default: ./configs)."
    ),
) -> None:
    """Re-run BENCHMARKS.md's tables from the shipped configs; write tables (markdown) and
    figures (PNG) to --out and print where they differ from the recorded numbers."""
    from marlax.reproduce import (
        ReproduceSettings,
        default_configs_dir,
        difference_lines,
        reproduce,
        select_tables,
    )
    from marlax.reproduce.training import ReproductionStoppedError

    settings = ReproduceSettings(
        out=out,
        configs_dir=configs or default_configs_dir(),
        budget_scale=budget_scale,
        seeds=seeds,
        quick=quick,
    )
    selected = select_tables(tables or [])
    console = Console(soft_wrap=True)
    try:
        reproduction = reproduce(settings, selected, console)
    except (KeyboardInterrupt, ReproductionStoppedError):
        console.print(f"stopped; finished cells are kept in {out}: rerun the command to resume")
        sys.exit(130)
    finished = sum(len(results) for results in reproduction.results.values())
    console.print(
        f"ran {len(reproduction.computed)} cells, reused "
        f"{finished - len(reproduction.computed)} finished before",
        highlight=False,
    )
    for line in difference_lines(reproduction):
        console.print(line, highlight=False, markup=False)
    console.print(f"tables, figures and differences.md written to {out}", highlight=False)
    if reproduction.failed:
        sys.exit(1)
