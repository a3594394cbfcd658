"""`marlax launch --local P -- train ...`: run one command as P processes of a multi-process run
on this machine (loopback coordinator), for trying and testing `jax.distributed` training."""

from __future__ import annotations

import sys

import typer


def register(app: typer.Typer) -> None:
    """Add the `launch` command to `app`."""
    settings = {"allow_extra_args": True, "ignore_unknown_options": True}
    app.command("launch", context_settings=settings)(launch_command)


def launch_command(
    context: typer.Context,
    local: int = typer.Option(
        ..., "--local", help="Start this many processes here (one run on jax.distributed)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", help="Stop every process after this many seconds (exit code 124)."
    ),
) -> None:
    """Run `marlax <command>` (after `--`) as LOCAL processes that train as one run, e.g.
    `marlax launch --local 2 -- train -c configs/simple_spread.json`. Output comes prefixed
    [p0], [p1], ...; if one process fails, the others are stopped and its exit code returned."""
    from marlax.distributed.launch import launch_local

    sys.exit(launch_local(local, list(context.args), timeout_s=timeout))
