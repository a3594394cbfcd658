"""`marlax runs` lists the runs; `marlax clean` removes some.

Examples:
    marlax runs                          # table: name, state, env steps, best return, updated
    marlax clean bold-otter-07           # asks, then removes that run
    marlax clean --stopped --failed -y   # every stopped or failed run, without asking
    marlax clean --all                   # every run that is not running
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from marlax.errors import ConfigError
from marlax.runs.folder import DEFAULT_RUNS_DIR, RunFolder
from marlax.runs.listing import RunSummary, list_runs, remove_runs, summarize_run

_STATE_STYLES = {"running": "cyan", "finished": "green", "failed": "red", "stopped": "yellow"}


def register(app: typer.Typer) -> None:
    """Add the `runs` and `clean` commands to the marlax app."""
    app.command("runs")(runs_command)
    app.command("clean")(clean_command)


def runs_command(
    runs_dir: Path = typer.Option(  # noqa: B008 - typer declares options in defaults
        DEFAULT_RUNS_DIR, "--runs-dir", help="Folder of runs."
    ),
) -> None:
    """List the runs, newest first: learner, state, env steps, best mean return, last update."""
    console = Console(soft_wrap=True)  # long paths stay on one line
    summaries = list_runs(runs_dir)
    if not summaries:
        console.print(f"no runs in {runs_dir}", highlight=False)
        return
    console.print(runs_table(summaries))


def runs_table(summaries: list[RunSummary]) -> Table:
    """A rich table with one row per run."""
    table = Table(box=None, header_style="bold")
    table.add_column("name")
    table.add_column("learner")
    table.add_column("state")
    table.add_column("env steps", justify="right")
    table.add_column("best return", justify="right")
    table.add_column("updated")
    for summary in summaries:
        style = _STATE_STYLES.get(summary.state, "")
        table.add_row(
            summary.name,
            summary.learner or "-",
            f"[{style}]{summary.state}[/{style}]" if style else summary.state,
            "-" if summary.env_steps is None else f"{summary.env_steps:,}",
            "-" if summary.best_return is None else f"{summary.best_return:.3f}",
            "-" if summary.updated is None else summary.updated.replace("T", " ")[:19],
        )
    return table


def clean_command(
    names: list[str] = typer.Argument(  # noqa: B008
        None, metavar="NAME", help="Runs to remove (even running ones)."
    ),
    stopped: bool = typer.Option(False, "--stopped", help="Also every stopped run."),
    failed: bool = typer.Option(False, "--failed", help="Also every failed run."),
    remove_all: bool = typer.Option(False, "--all", help="Every run that is not running."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    runs_dir: Path = typer.Option(DEFAULT_RUNS_DIR, "--runs-dir", help="Folder of runs."),  # noqa: B008
) -> None:
    """Remove runs by NAME and/or by state; a running run goes only when named."""
    names = list(names or [])
    if not (names or stopped or failed or remove_all):
        raise ConfigError("clean", "", "run names, --stopped, --failed or --all")
    chosen = {name: summarize_run(RunFolder.open(runs_dir, name)) for name in names}
    for summary in list_runs(runs_dir):
        if summary.state == "running" or summary.name in chosen:
            continue
        wanted = {"stopped": stopped, "failed": failed}.get(summary.state, False)
        if remove_all or wanted:
            chosen[summary.name] = summary
    console = Console(soft_wrap=True)  # long paths stay on one line
    if not chosen:
        console.print(f"no runs to remove in {runs_dir}", highlight=False)
        return
    described = ", ".join(f"{name} ({summary.state})" for name, summary in chosen.items())
    if not yes:
        typer.confirm(f"Remove {len(chosen)} run(s) from {runs_dir}: {described}?", abort=True)
    for name in remove_runs(runs_dir, list(chosen)):
        console.print(f"removed {Path(runs_dir) / name}", highlight=False)
