"""`marlax serve`: trained runs behind one HTTP endpoint on Ray Serve, until SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer
from rich.console import Console

from marlax.serve.settings import TOKEN_ENV, ServeSettings


def register(app: typer.Typer) -> None:
    """Add the `serve` command to `app`."""
    app.command("serve")(serve_command)


def serve_command(
    runs: list[str] = typer.Argument(  # noqa: B008 - typer declares arguments in defaults
        ..., help="Runs to serve: RUN or RUN:SEED; several are combined with --rule."
    ),
    replicas: int = typer.Option(1, "--replicas", help="Replicas of every deployment (>= 1)."),
    rule: str = typer.Option("soft_vote", "--rule", help="soft_vote or average (several runs)."),
    port: int = typer.Option(8000, "--port", help="HTTP port."),
    grpc_port: int | None = typer.Option(
        None,
        "--grpc-port",
        help="Also answer gRPC (marlax.serve.v1.Policy) on this port; needs --token.",
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to bind; anything but loopback needs --token."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        envvar=TOKEN_ENV,
        help=f"Bearer token every request must carry ({TOKEN_ENV}).",
    ),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Folder of runs."),  # noqa: B008
    max_request_bytes: int = typer.Option(
        1 << 20, "--max-request-bytes", help="Largest request body (bigger: HTTP 413)."
    ),
    max_agents: int = typer.Option(
        1024, "--max-agents", help="Most agents (envs x agents) in one request."
    ),
    num_cpus: int | None = typer.Option(
        None, "--num-cpus", help="CPUs Ray may use (default: all of this machine)."
    ),
) -> None:
    """Serve trained policies over HTTP (POST /v1/act, GET /v1/info) until Ctrl-C or SIGTERM."""
    from marlax.validate import require_int_at_least

    settings = ServeSettings(
        runs=tuple(runs),
        runs_dir=runs_dir,
        replicas=replicas,
        rule=rule,
        host=host,
        port=port,
        grpc_port=grpc_port,
        token=token,
        max_request_bytes=max_request_bytes,
        max_agents=max_agents,
    )
    ray_init = (
        {} if num_cpus is None else {"num_cpus": require_int_at_least("--num-cpus", num_cpus, 1)}
    )
    _serve_until_signal(settings, ray_init)


def _serve_until_signal(settings: ServeSettings, ray_init: dict) -> None:
    from marlax.serve.app import start_serving, stop_serving

    console = Console()
    stop = threading.Event()
    previous = _stop_on_signals(stop)
    try:
        with console.status("loading runs and starting Ray Serve"):
            server = start_serving(settings, ray_init=ray_init)
        _stop_on_signals(stop)  # again: ray.init installs its own SIGTERM handler (a stack dump)
        members = ", ".join(server.spec.members)
        console.print(f"serving {members} ({server.spec.env_name}) at [bold]{server.url}[/bold]")
        console.print(f"  POST {server.url}/v1/act   GET {server.url}/v1/info   (Ctrl-C stops)")
        if settings.grpc_port is not None:
            console.print(f"  gRPC marlax.serve.v1.Policy/Act, /Info on port {settings.grpc_port}")
        while not stop.wait(0.5):  # wake up now and then: signals are handled between waits
            continue
        console.print("stopping")
    finally:
        stop_serving()
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop_on_signals(stop: threading.Event) -> dict:
    """SIGINT and SIGTERM set `stop`; returns the handlers they had before."""
    return {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
