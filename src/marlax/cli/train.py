"""`marlax train`: train a learner from a JSON config (or the built-in default), or resume a run.

With `--coordinator HOST:PORT --num-processes P --process-id I` (or the `MARLAX_*` variables
`marlax launch` sets, or `--distributed auto` on SLURM) this process joins a multi-process run
on `jax.distributed` first; every process then runs the same command, and only process 0
prints and writes the run's files.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from marlax.errors import ConfigError


def register(app: typer.Typer) -> None:
    """Add the `train` command to `app`."""
    app.command("train")(train_command)


def train_command(
    config: Path | None = typer.Option(  # noqa: B008 - typer declares options in defaults
        None, "--config", "-c", help="JSON config file; without it the built-in default."
    ),
    settings: list[str] = typer.Option(  # noqa: B008
        [], "--set", help="Override a config field: --set ppo.learning_rate=1e-3 (repeatable)."
    ),
    seeds: int | None = typer.Option(
        None, "--seeds", help="Train this many seeds at once (a vmap axis)."
    ),
    resume: str | None = typer.Option(
        None, "--resume", help="Continue the run of this name from its latest checkpoint."
    ),
    runs_dir: Path | None = typer.Option(  # noqa: B008
        None, "--runs-dir", help="Folder of runs (default: the config's run.runs_dir, 'runs')."
    ),
    coordinator: str | None = typer.Option(
        None,
        "--coordinator",
        help="Multi-process: HOST:PORT of process 0's coordinator (or MARLAX_COORDINATOR).",
    ),
    num_processes: int | None = typer.Option(
        None, "--num-processes", help="Multi-process: how many processes (or MARLAX_NUM_PROCESSES)."
    ),
    process_id: int | None = typer.Option(
        None, "--process-id", help="Multi-process: this one's index from 0 (or MARLAX_PROCESS_ID)."
    ),
    distributed: str | None = typer.Option(
        None,
        "--distributed",
        help="'auto': let jax.distributed detect the cluster (SLURM, Open MPI) for what is unset.",
    ),
) -> None:
    """Train (PPO, IQL, VDN or QMIX: the config's `algorithm`); prints the run name and shows
    progress. Resume with --resume NAME."""
    from marlax.algorithms.common.host_loop import TrainingDivergedError
    from marlax.algorithms.common.run_folders import create_run, open_run
    from marlax.algorithms.learners import train_run_for
    from marlax.config import load_config

    _join_processes(coordinator, num_processes, process_id, distributed)
    console = Console(quiet=not _is_primary())
    if resume is not None:
        if config is not None or settings or seeds is not None:
            raise ConfigError(
                "--resume",
                resume,
                "no --config/--set/--seeds with --resume (the run keeps its config)",
            )
        folder, train_config = open_run(runs_dir or Path("runs"), resume)
        console.print(f"resuming run [bold]{folder.name}[/bold] ({folder.path})")
    else:
        overrides = list(settings)
        if runs_dir is not None:
            overrides.append(f"run.runs_dir={runs_dir}")
        train_config = load_config(config, overrides, num_seeds=seeds)
        folder = create_run(train_config)
        console.print(f"run [bold]{folder.name}[/bold] ({folder.path})")
    try:
        result = train_run_for(train_config.algorithm)(folder, train_config, console)
    except TrainingDivergedError as error:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {error}", highlight=False)
        sys.exit(1)
    _report(console, folder.name, train_config, result)


def _join_processes(
    coordinator: str | None, num_processes: int | None, process_id: int | None, mode: str | None
) -> None:
    """Join the multi-process run the options (or MARLAX_* variables) describe, if any."""
    from marlax.distributed import initialize, process_spec
    from marlax.validate import require_choice

    if mode is not None:
        require_choice("--distributed", mode, ("auto",))
    spec = process_spec(coordinator, num_processes, process_id, auto=mode == "auto")
    if spec is not None:
        initialize(spec)


def _is_primary() -> bool:
    from marlax.distributed import is_primary

    return is_primary()


def _report(console: Console, name: str, config: Any, result: Any) -> None:
    """The closing lines: returns reached (or that no episode ended), or how to resume.

    A run stopped by SIGINT/SIGTERM has saved its checkpoint and marked itself `stopped`:
    that is a clean end, so the command exits 0 (a scheduler's requeue reads the run's
    status, not the exit code; `marlax launch` then also exits 0).
    """
    runs_dir_option = f" --runs-dir {config.run.runs_dir}" if config.run.runs_dir != "runs" else ""
    if result.stopped_by is not None:
        console.print(
            f"stopped [bold]{name}[/bold] by {result.stopped_by} after {result.env_steps:,} "
            f"env-steps per seed (checkpoint saved); resume: "
            f"marlax train --resume {name}{runs_dir_option}"
        )
        return
    console.print(
        f"finished [bold]{name}[/bold]: {result.env_steps:,} env-steps per seed, "
        + _describe_returns(result.final_score, result.best_score, result.env_steps)
        + f"\nwatch it: marlax enjoy {name}{runs_dir_option}"
    )


def _describe_returns(final: float | None, best: float | None, env_steps: int) -> str:
    """The returns reached, or a line saying that no episode ended."""
    if best is None:
        return (
            f"no episode ended in {env_steps:,} env-steps per seed, so no return was measured "
            "(raise ppo.total_env_steps or shorten the episodes)"
        )
    return f"final return {final:.4g}, best {best:.4g}"
