"""`marlax profile`: where one PPO update's time and memory go, with a trace for TensorBoard."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from marlax.errors import ConfigError
from marlax.validate import require_int_at_least

if TYPE_CHECKING:
    from marlax.algorithms.ppo.profile import UpdateProfile

_MIB = 2.0**20


def register(app: typer.Typer) -> None:
    """Add the `profile` command to `app`."""
    app.command("profile")(profile_command)


def profile_command(
    config: Path = typer.Option(  # noqa: B008 - typer declares options in defaults
        ..., "--config", "-c", help="JSON training config to profile."
    ),
    settings: list[str] = typer.Option(  # noqa: B008
        [], "--set", help="Override a config field: --set ppo.rollout_length=64 (repeatable)."
    ),
    runs_dir: Path | None = typer.Option(  # noqa: B008
        None, "--runs-dir", help="Folder of runs (default: the config's run.runs_dir, 'runs')."
    ),
    name: str | None = typer.Option(
        None, "--name", help="Run folder name (default: a fresh adjective-animal-NN)."
    ),
    repeats: int = typer.Option(5, "--repeats", help="Timed calls per median (>= 1)."),
) -> None:
    """Profile one PPO update: rollout, GAE, a learning epoch, the whole update, host time,
    compile times and memory; writes profile.json and a jax.profiler trace to a run folder."""
    from marlax.algorithms.common.run_folders import create_run
    from marlax.algorithms.ppo.profile import PROFILE_DIR, PROFILE_JSON, STAGES, profile_run
    from marlax.config import load_config

    require_int_at_least("--repeats", repeats, 1)
    overrides = list(settings)
    if runs_dir is not None:
        overrides.append(f"run.runs_dir={runs_dir}")
    if name is not None:
        overrides.append(f"run.name={name}")
    train_config = load_config(config, overrides)
    if train_config.algorithm != "ppo":
        raise ConfigError(
            "algorithm", train_config.algorithm, '"ppo" (marlax profile times PPO updates)'
        )
    folder = create_run(train_config)
    console = Console()
    console.print(f"profiling into run [bold]{folder.name}[/bold] ({folder.path})")
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=len(STAGES))

        def _stage(description: str) -> None:
            progress.update(task, description=description, completed=STAGES.index(description))

        profile = profile_run(folder, train_config, repeats=repeats, on_stage=_stage)
    console.print(profile_table(profile))
    console.print(
        f"peak resident memory {profile.max_rss_bytes / _MIB:,.0f} MiB; numbers in "
        f"{folder.path / PROFILE_JSON}; trace in {folder.path / PROFILE_DIR} "
        f"(tensorboard --logdir {folder.path / PROFILE_DIR}, or its .trace.json.gz in "
        "ui.perfetto.dev)"
    )


def profile_table(profile: UpdateProfile) -> Table:
    """The pieces and the host loop as one table (XLA MiB: temp + argument + output buffers
    of the compiled program; host loop step: one whole `Trainer.update` call and its metric
    rows)."""
    table = Table(
        title=f"one PPO update: {profile.env_steps_per_update:,} env-steps per seed, "
        f"{profile.num_epochs} epochs, {profile.num_seeds} seed(s), median of {profile.repeats}"
    )
    for column in ("piece", "median ms", "compile s", "XLA MiB"):
        table.add_column(column, justify="left" if column == "piece" else "right")
    labels = {
        "rollout": "rollout (1 seed)",
        "gae": "GAE + batch layout (1 seed)",
        "learning_epoch": "one learning epoch (1 seed)",
        "update": "whole update (all seeds)",
    }
    for program in profile.programs:
        table.add_row(
            labels[program.name],
            f"{program.median_s * 1e3:.2f}",
            f"{program.compile_s:.1f}",
            f"{program.peak_bytes / _MIB:.2f}",
        )
    host = profile.host
    table.add_row("host: dispatch", f"{host.dispatch_s * 1e3:.2f}", "", "")
    table.add_row("host: metric rows", f"{host.metrics_s * 1e3:.2f}", "", "")
    table.add_row("host loop step", f"{host.step_s * 1e3:.2f}", "", "")
    return table
