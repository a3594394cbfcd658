"""`marlax bench`: latency and memory of the coordination pipeline against the number of agents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from marlax.errors import ConfigError
from marlax.validate import require, require_positive_int

DEFAULT_AGENTS = [100, 500, 1000, 2000, 5000]


def _check(agents: list[int], batch: int, dim: int, tasks: int, repeats: int) -> None:
    """Eager validation: every size a positive integer, at least one agent count."""
    require(bool(agents), "agents", agents, "one or more integers >= 1")
    for count in agents:
        require_positive_int("agents", count)
    for field, value in (("batch", batch), ("dim", dim), ("tasks", tasks), ("repeats", repeats)):
        require_positive_int(field, value)


def _table(rows, exponents) -> Table:
    table = Table(title="TensorConsensusPipeline scaling (median after compile)")
    for column in (
        "N",
        "forward ms",
        "grad ms",
        "compile s",
        "fwd temp MiB",
        "grad temp MiB",
        "peak RSS MiB",
    ):
        table.add_column(column, justify="right")
    mib = 1024**2
    for row in rows:
        table.add_row(
            str(row.num_agents),
            f"{row.forward_s * 1e3:.1f}",
            f"{row.gradient_s * 1e3:.1f}",
            f"{row.compile_s:.1f}",
            f"{row.forward_temp_bytes / mib:.1f}",
            f"{row.gradient_temp_bytes / mib:.1f}",
            f"{row.peak_rss_bytes / mib:.0f}",
        )
    if len(rows) > 1:
        table.add_row(
            "exponent",
            f"{exponents['forward_s']:.2f}",
            f"{exponents['gradient_s']:.2f}",
            "",
            f"{exponents['forward_temp_bytes']:.2f}",
            f"{exponents['gradient_temp_bytes']:.2f}",
            "",
        )
    return table


def _agent_counts(agents: list[int], extra: list[str]) -> list[int]:
    """`--agents 100 500 1000`: click hands the values after the first to the extra arguments."""
    counts = list(agents)
    for value in extra:
        try:
            counts.append(int(value))
        except ValueError:
            raise ConfigError("agents", value, "integers after --agents") from None
    return counts


def bench(
    context: typer.Context,
    agents: Annotated[
        list[int], typer.Option("--agents", help="Team sizes N: --agents 100 500 1000.")
    ] = DEFAULT_AGENTS,
    batch: Annotated[int, typer.Option("--batch", help="Batch B.")] = 32,
    dim: Annotated[int, typer.Option("--dim", help="State width D.")] = 64,
    tasks: Annotated[int, typer.Option("--tasks", help="Tasks M (fixed while N grows).")] = 100,
    repeats: Annotated[int, typer.Option("--repeats", help="Timed calls per size.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="PRNG seed.")] = 0,
    plot: Annotated[Path, typer.Option("--plot", help="Where to write the plot.")] = Path(
        "scaling.png"
    ),
) -> None:
    """Time the coordination pipeline (forward and gradient) and its memory as N grows."""
    agents = _agent_counts(agents, context.args)
    _check(agents, batch, dim, tasks, repeats)
    import jax

    from marlax.bench import exponents, measure_pipeline, plot_scaling

    console = Console()
    rows = []
    key = jax.random.key(seed)
    for count in agents:
        console.print(f"measuring N={count} ...", style="dim")
        rows.append(
            measure_pipeline(key, count, batch=batch, dim=dim, num_tasks=tasks, repeats=repeats)
        )
    fitted = exponents(rows) if len(rows) > 1 else {}
    console.print(_table(rows, fitted))
    plot_scaling(rows, plot)
    console.print(f"plot written to {plot}")


def register(app: typer.Typer) -> None:
    """Add `marlax bench` to the command line."""
    app.command("bench", context_settings={"allow_extra_args": True})(bench)
