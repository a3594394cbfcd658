"""`marlax train`: train PPO from a JSON config (or the built-in default), or resume a run."""

from __future__ import annotations

import sys
from pathlib import Path

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
) -> None:
    """Train PPO; prints the run name and shows progress. Resume with --resume NAME."""
    from marlax.config import load_config
    from marlax.runs.train_loop import TrainingDivergedError, create_run, open_run, train_run

    console = Console()
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
        result = train_run(folder, train_config, console)
    except TrainingDivergedError as error:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {error}", highlight=False)
        sys.exit(1)
    console.print(
        f"finished [bold]{folder.name}[/bold]: {result.env_steps:,} env-steps per seed, "
        f"final return {result.final_return:.4g}, best {result.best_return:.4g}\n"
        f"watch it: marlax enjoy {folder.name}"
        + (
            f" --runs-dir {train_config.run.runs_dir}"
            if train_config.run.runs_dir != "runs"
            else ""
        )
    )
