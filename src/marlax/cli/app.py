"""`marlax` entry point: assembles the commands and turns user errors into exit code 2.

Each command lives in `marlax/cli/<name>.py` and exposes `register(app)`;
add the module name to `_COMMAND_MODULES` to put it on the command line.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from marlax.errors import ConfigError

_COMMAND_MODULES: tuple[str, ...] = (
    "train",
    "evolve",
    "enjoy",
    "eval",
    "adapt",
    "merge",
    "play",
    "runs",
    "meanfield",
    "bench",
    "profile",
    "reproduce",
    "launch",
    "serve",
)

app = typer.Typer(
    name="marlax",
    help="Scalable multi-agent reinforcement learning and coordination on JAX.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Scalable multi-agent reinforcement learning and coordination on JAX."""


@app.command("envs")
def envs_command() -> None:
    """List the registered environments and their settings."""
    from marlax.envs.registry import env_parameters, list_envs

    console = Console()
    for name in list_envs():
        settings = ", ".join(f"{key}={value!r}" for key, value in env_parameters(name).items())
        console.print(f"[bold]{name}[/bold]  {settings}")


for _module_name in _COMMAND_MODULES:
    importlib.import_module(f"marlax.cli.{_module_name}").register(app)


def main() -> None:
    """Console-script entry point: a `ConfigError` becomes one line on stderr and exit 2.

    Typer (standalone mode) already turns bad options into a usage message and exit 2.
    """
    try:
        app()
    except ConfigError as error:
        Console(stderr=True, soft_wrap=True).print(f"[red]error:[/red] {error}", highlight=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
