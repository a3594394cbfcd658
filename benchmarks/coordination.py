"""Coordination benchmarks: pipeline scaling in N (what `marlax bench` prints), then pointers.

    python benchmarks/coordination.py [--agents 100 500 1000 2000 5000] [--batch 32 --dim 64
        --tasks 100] [--plot benchmarks/results/scaling.png]

The peer comparisons live beside it, one script each:
    benchmarks/coordination_sinkhorn.py   Sinkhorn vs ott-jax (time, memory, forward/gradient)
    benchmarks/coordination_quality.py    rounded assignment cost / Hungarian optimum
    benchmarks/coordination_consensus.py  consensus accuracy under outliers vs mean / median
"""

from __future__ import annotations

import argparse
from pathlib import Path

import jax

from marlax.bench import exponents, measure_pipeline, plot_scaling


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 500, 1000, 2000, 5000])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--plot", type=Path, default=Path("scaling.png"))
    args = parser.parse_args()
    print(f"B={args.batch}, D={args.dim}, M={args.tasks}, devices={jax.devices()}")
    print("| N | forward ms | gradient ms | compile s | fwd temp MiB | grad temp MiB | RSS MiB |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for num_agents in args.agents:
        row = measure_pipeline(
            jax.random.key(0),
            num_agents,
            batch=args.batch,
            dim=args.dim,
            num_tasks=args.tasks,
            repeats=args.repeats,
        )
        rows.append(row)
        mib = 1024**2
        print(
            f"| {row.num_agents} | {row.forward_s * 1e3:.1f} | {row.gradient_s * 1e3:.1f} | "
            f"{row.compile_s:.1f} | {row.forward_temp_bytes / mib:.1f} | "
            f"{row.gradient_temp_bytes / mib:.1f} | {row.peak_rss_bytes / mib:.0f} |",
            flush=True,
        )
    fitted = exponents(rows)
    print(
        "fitted exponents (log-log slope vs N): "
        + ", ".join(f"{name} {value:.2f}" for name, value in fitted.items())
    )
    plot_scaling(rows, args.plot)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
