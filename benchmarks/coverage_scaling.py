"""PPO with coordination inside the policy, on `coverage`, against the number of agents N.

For every N and every coordination kind, one PPO Trainer (configs/coverage_ippo.json with the
same small update at every N: `--num-envs` envs x `--rollout-length` steps, 2 epochs of 2
minibatches of whole teams) is compiled ahead of time, warmed up once, then `--repeats` full
updates (rollout + learning) are timed. Reported per cell: the median update time, that time
per agent-step (T x B x N), the XLA temp and argument bytes of the compiled update program,
and the cell's peak RSS (each cell runs in its own process, so the RSS is its own). Exponents
are least-squares log-log slopes against N (`marlax.bench.scaling_exponent`); "last" is the
slope between the two largest N, where fixed costs weigh least.

Kinds: none (plain IPPO), consensus, assignment_dense (Sinkhorn over the env's M = N targets:
an [N, M] plan per team, O(N^2) by design) and assignment_fixed (M = --fixed-targets, 64,
targets: O(N M) = O(N)). Dense cells whose N x M exceeds --max-plan are skipped (at the
default, N = 5000: a 25M-entry plan per team-step; the N = 1000 cell already needs 1.0 GiB of
XLA temp memory and 63-110 s per update on a loaded 2-core host, so 5000 would need ~26 GiB
and ~25x as long).

    nice -n 15 python benchmarks/coverage_scaling.py
    nice -n 15 python benchmarks/coverage_scaling.py --agents 10 100 --kinds none consensus

Writes benchmarks/results/coverage_scaling.{json,md,png} (or --out STEM.{json,md,png}).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from marlax.bench.profiling import scaling_exponent

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "configs" / "coverage_ippo.json"
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "coverage_scaling"
KINDS = ("none", "consensus", "assignment_dense", "assignment_fixed")
MIB = 2**20


@dataclass(frozen=True)
class Settings:
    """What every cell shares."""

    num_envs: int
    rollout_length: int
    num_epochs: int
    num_minibatches: int
    repeats: int
    fixed_targets: int


@dataclass
class Row:
    """One (kind, N) cell: its measurement, or why it was skipped."""

    kind: str
    num_agents: int
    num_targets: int
    update_s: float | None = None
    us_per_agent_step: float | None = None
    compile_s: float | None = None
    temp_bytes: int | None = None
    argument_bytes: int | None = None
    peak_rss_bytes: int | None = None
    times_s: list[float] = field(default_factory=list)
    skipped: str | None = None

    @property
    def program_bytes(self) -> int | None:
        """XLA temp + argument bytes: what the update program holds on the device."""
        if self.temp_bytes is None or self.argument_bytes is None:
            return None
        return self.temp_bytes + self.argument_bytes


def num_targets(kind: str, num_agents: int, settings: Settings) -> int:
    """M of a cell: N (coverage_ippo's M = N), or the fixed count for assignment_fixed."""
    return settings.fixed_targets if kind == "assignment_fixed" else num_agents


def coordination_kind(kind: str) -> str:
    """The `marlax.bench.train_scaling.COORDINATION` key of a benchmark kind."""
    return "assignment" if kind.startswith("assignment") else kind


# ---- one cell, in its own process ------------------------------------------------------------


def run_cell(kind: str, num_agents: int, settings: Settings) -> dict:
    """Build, compile and time one cell's Trainer (in this process); the Row's fields."""
    import jax

    from marlax.algorithms.ppo.trainer import Trainer
    from marlax.bench.profiling import peak_rss_bytes
    from marlax.bench.train_scaling import measure_update, scaling_overrides
    from marlax.config import load_config

    targets = num_targets(kind, num_agents, settings)
    overrides = scaling_overrides(
        num_agents,
        coordination_kind(kind),
        targets,
        num_envs=settings.num_envs,
        rollout_length=settings.rollout_length,
        num_epochs=settings.num_epochs,
        num_minibatches=settings.num_minibatches,
    )
    trainer = Trainer(load_config(CONFIG, overrides))
    timing = measure_update(trainer, jax.random.key(0), settings.repeats)
    agent_steps = settings.rollout_length * settings.num_envs * num_agents
    return {
        "update_s": timing.median_s,
        "us_per_agent_step": timing.median_s / agent_steps * 1e6,
        "compile_s": timing.compile_s,
        "temp_bytes": timing.temp_bytes,
        "argument_bytes": timing.argument_bytes,
        "peak_rss_bytes": peak_rss_bytes(),
        "times_s": list(timing.times_s),
    }


def measure_cell(kind: str, num_agents: int, settings: Settings, timeout_s: float) -> Row:
    """Run one cell in a fresh Python process (its own peak RSS; a crash skips only it)."""
    row = Row(kind, num_agents, num_targets(kind, num_agents, settings))
    command = [
        sys.executable,
        __file__,
        "--cell",
        json.dumps({"kind": kind, "num_agents": num_agents, "settings": asdict(settings)}),
    ]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        row.skipped = f"timed out after {timeout_s:.0f} s"
        return row
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        row.skipped = f"failed (exit {done.returncode}): {last[:120]}"
        return row
    for name, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
        setattr(row, name, value)
    return row


# ---- the grid ---------------------------------------------------------------------------------


def run_grid(args: argparse.Namespace, settings: Settings, console: Console) -> list[Row]:
    """Every (kind, N) cell, skipping dense plans past --max-plan, under a progress bar."""
    cells = [(kind, n) for kind in args.kinds for n in sorted(args.agents)]
    rows = []
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("cells", total=len(cells))
        for kind, n in cells:
            progress.update(task, description=f"{kind} N={n}")
            targets = num_targets(kind, n, settings)
            if kind.startswith("assignment") and n * targets > args.max_plan:
                row = Row(kind, n, targets)
                row.skipped = f"skipped: N x M = {n * targets:.3g} > --max-plan {args.max_plan:.3g}"
            else:
                row = measure_cell(kind, n, settings, args.cell_timeout)
            rows.append(row)
            progress.advance(task)
    return rows


def exponents(rows: list[Row]) -> dict[str, dict[str, float]]:
    """Per kind: log-log slopes of update time, program memory and peak RSS against N, over
    every measured N ("*_all") and between the two largest ("*_last")."""
    result = {}
    for kind in dict.fromkeys(row.kind for row in rows):
        measured = [row for row in rows if row.kind == kind and row.skipped is None]
        if len(measured) < 2:
            continue
        sizes = [row.num_agents for row in measured]
        series = {
            "time": [row.update_s for row in measured],
            "memory": [row.program_bytes for row in measured],
            "rss": [row.peak_rss_bytes for row in measured],
        }
        fits = {}
        for name, values in series.items():
            fits[f"{name}_all"] = scaling_exponent(sizes, values)
            fits[f"{name}_last"] = scaling_exponent(sizes[-2:], values[-2:])
        result[kind] = fits
    return result


# ---- output -----------------------------------------------------------------------------------

HEADERS = (
    "kind",
    "N",
    "M",
    "update s",
    "us / agent-step",
    "compile s",
    "XLA temp MiB",
    "XLA args MiB",
    "peak RSS MiB",
)


def _cells(row: Row) -> list[str]:
    head = [row.kind, str(row.num_agents), str(row.num_targets)]
    if row.skipped is not None:
        return head + [row.skipped] + [""] * (len(HEADERS) - 4)
    return head + [
        f"{row.update_s:.3f}",
        f"{row.us_per_agent_step:.2f}",
        f"{row.compile_s:.1f}",
        f"{row.temp_bytes / MIB:.1f}",
        f"{row.argument_bytes / MIB:.2f}",
        f"{row.peak_rss_bytes / MIB:.0f}",
    ]


def _exponent_cells(kind: str, fits: dict[str, float]) -> list[str]:
    return [
        kind,
        f"time {fits['time_all']:.2f} (last {fits['time_last']:.2f})",
        f"memory {fits['memory_all']:.2f} (last {fits['memory_last']:.2f})",
        f"RSS {fits['rss_all']:.2f} (last {fits['rss_last']:.2f})",
    ]


def print_tables(console: Console, rows: list[Row], fits: dict) -> None:
    table = Table(title="PPO on coverage: one update (rollout + learning) against N")
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "kind" else "right")
    for row in rows:
        table.add_row(*_cells(row))
    console.print(table)
    slopes = Table(title="log-log exponents vs N (all N; last = two largest N)")
    for header in ("kind", "update time", "XLA temp + args", "peak RSS"):
        slopes.add_column(header)
    for kind, kind_fits in fits.items():
        slopes.add_row(*_exponent_cells(kind, kind_fits))
    console.print(slopes)


def markdown(rows: list[Row], fits: dict, meta: dict) -> str:
    lines = [
        "# PPO scaling on coverage",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Settings: {meta['settings']}; machine: {meta['cpus']} CPUs, load average "
        f"{meta['load_before']} before, {meta['load_after']} after; total {meta['total_s']:.0f} s.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---" for _ in HEADERS) + "|",
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    lines += [
        "",
        "Exponents (log-log least squares against N; last = the two largest N):",
        "",
        "| kind | update time | XLA temp + args | peak RSS |",
        "|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(_exponent_cells(kind, f)) + " |" for kind, f in fits.items()]
    return "\n".join(lines) + "\n"


def plot(rows: list[Row], path: Path) -> None:
    """Log-log update time and XLA memory against N, one line per kind, slope-1 guides."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (time_axis, memory_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
    for kind in dict.fromkeys(row.kind for row in rows):
        measured = [row for row in rows if row.kind == kind and row.skipped is None]
        sizes = [row.num_agents for row in measured]
        time_axis.loglog(sizes, [row.update_s for row in measured], "o-", label=kind)
        memory_axis.loglog(sizes, [row.program_bytes / MIB for row in measured], "o-", label=kind)
    measured = [row for row in rows if row.skipped is None]
    if measured:
        low = min(row.num_agents for row in measured)
        high = max(row.num_agents for row in measured)
        for axis, values in (
            (time_axis, [row.update_s for row in measured]),
            (memory_axis, [row.program_bytes / MIB for row in measured]),
        ):
            anchor = min(values)  # the guide starts at the smallest value, slope 1
            axis.loglog([low, high], [anchor, anchor * high / low], "k--", label="slope 1")
    time_axis.set(xlabel="agents N", ylabel="seconds per PPO update", title="update time")
    memory_axis.set(xlabel="agents N", ylabel="MiB", title="XLA temp + argument bytes")
    for axis in (time_axis, memory_axis):
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[10, 100, 1000, 5000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--num-envs", type=int, default=2)
    parser.add_argument("--rollout-length", type=int, default=16)
    parser.add_argument("--num-epochs", type=int, default=2)
    parser.add_argument("--num-minibatches", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed updates per cell")
    parser.add_argument("--fixed-targets", type=int, default=64, help="M of assignment_fixed")
    parser.add_argument("--max-plan", type=float, default=1e6, help="largest dense N x M")
    parser.add_argument("--cell-timeout", type=float, default=900.0, help="seconds per cell")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output path stem")
    parser.add_argument("--cell", help=argparse.SUPPRESS)  # internal: run one cell, print JSON
    args = parser.parse_args()
    if args.cell is not None:
        spec = json.loads(args.cell)
        settings = Settings(**spec["settings"])
        print(json.dumps(run_cell(spec["kind"], spec["num_agents"], settings)))
        return
    settings = Settings(
        args.num_envs,
        args.rollout_length,
        args.num_epochs,
        args.num_minibatches,
        args.repeats,
        args.fixed_targets,
    )
    console = Console()
    meta = {
        "command": " ".join(["python", "benchmarks/coverage_scaling.py", *sys.argv[1:]]),
        "settings": asdict(settings),
        "cpus": os.cpu_count(),
        "load_before": _load(),
    }
    start = time.perf_counter()
    rows = run_grid(args, settings, console)
    meta.update(load_after=_load(), total_s=time.perf_counter() - start)
    fits = exponents(rows)
    print_tables(console, rows, fits)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {"meta": meta, "rows": [asdict(row) for row in rows], "exponents": fits}
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(rows, fits, meta))
    plot(rows, args.out.with_suffix(".png"))
    console.print(f"wrote {args.out}.json, .md, .png")


if __name__ == "__main__":
    main()
