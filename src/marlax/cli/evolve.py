"""`marlax evolve`: a genetic algorithm over model arrangements, each candidate trained briefly
with PPO and scored; or resume a search.

    marlax evolve -c configs/arrangement_search_nback.json
    marlax evolve -c configs/arrangement_search_nback.json --set search.generations=2
    marlax evolve --resume quiet-heron-42
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from marlax.errors import ConfigError

_INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells expect


def register(app: typer.Typer) -> None:
    """Add the `evolve` command to `app`."""
    app.command("evolve")(evolve_command)


def evolve_command(
    config: Path | None = typer.Option(  # noqa: B008 - typer declares options in defaults
        None, "--config", "-c", help="Search config (base training config, genes, search)."
    ),
    settings: list[str] = typer.Option(  # noqa: B008
        [], "--set", help="Override a field: --set search.generations=2 (repeatable)."
    ),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue the search of this name; scored candidates are kept."
    ),
    runs_dir: Path | None = typer.Option(  # noqa: B008
        None, "--runs-dir", help="Folder of runs (default: the config's search.runs_dir)."
    ),
) -> None:
    """Evolve model arrangements (core, width, depth, graph, any setting): breed, train each
    candidate briefly with PPO, keep the best; prints the best-of-generation table."""
    from marlax.evolution import create_search, load_search, open_search, run_search

    console = Console()
    if resume is not None:
        if config is not None or settings:
            raise ConfigError("--resume", resume, "no --config/--set with --resume")
        folder, spec = open_search(runs_dir or Path("runs"), resume)
        console.print(f"resuming search [bold]{folder.name}[/bold] ({folder.path})")
    else:
        if config is None:
            raise ConfigError(
                "--config", None, "a search config (configs/arrangement_search_nback.json)"
            )
        overrides = list(settings)
        if runs_dir is not None:
            overrides.append(f"search.runs_dir={runs_dir}")
        spec = load_search(config, overrides)
        folder = create_search(spec)
        console.print(f"search [bold]{folder.name}[/bold] ({folder.path})")
    try:
        result = run_search(spec, folder, console=console)
    except KeyboardInterrupt:
        option = f" --runs-dir {runs_dir}" if runs_dir is not None else ""
        console.print(f"stopped; resume: marlax evolve --resume {folder.name}{option}")
        sys.exit(_INTERRUPTED_EXIT)
    _report(console, result)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _report(console: Console, result: Any) -> None:
    """The best-of-generation table, the best arrangement and its lineage."""
    from marlax.evolution.records import describe_genome

    by_id = {record["id"]: record for record in result.records}
    table = Table(title="best of generation")
    for column in ("generation", "best score", "mean score", "trained", "best arrangement"):
        table.add_column(column)
    for row in result.generations:
        best = by_id[row["best_id"]]
        table.add_row(
            str(row["generation"]),
            _score(row["best_score"]),
            _score(row["mean_score"]),
            str(row["trained"]),
            f"{row['best_id']}: {describe_genome(best['genome'])}",
        )
    console.print(table)
    best = result.best
    console.print(
        f"best [bold]{best['id']}[/bold] score {_score(best['score'])}: "
        f"{describe_genome(best['genome'])}"
    )
    for record in result.lineage:
        parents = ", ".join(record["parents"]) or "-"
        console.print(
            f"  {record['id']} ({record['origin']}, parents {parents}) "
            f"score {_score(record['score'])}: {describe_genome(record['genome'])}"
        )
    console.print(
        f"{result.trained} candidates trained now; files in {result.folder.path} "
        "(candidates.json, report.json, best_config.json, best_of_generation.png)"
    )
