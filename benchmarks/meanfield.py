"""Benchmark mean-field subsample Q-learning on the built-in config.

    python benchmarks/meanfield.py [--out benchmarks/results] [--skip-paper] [--big-n 10000]

Measures (wall-clock, this machine):
1. the whole `reference` run, training and deployment, for k = 2..14 (target < 20 s);
2. the whole `paper` run for k = 2..14 (target < 60 s);
3. training time of one k for several n (training never touches n: the cost is flat);
4. deployment of Q_8 on n = 10,000 local agents (20 runs x 200 steps);
and fits the final reward against k with a - b / sqrt(k), plotted to
`<out>/meanfield_reward_vs_k_<semantics>.png`. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import jax

from marlax.algorithms.meanfield_q import (
    builtin_config_dict,
    deploy_q,
    parse_config,
    run_meanfield,
    tabulate_environment,
    train_q,
)
from marlax.algorithms.meanfield_q.plot import plot_reward_against_k


def _whole_run(config, semantics: str, out: Path) -> float:
    start, cpu_start = time.perf_counter(), time.process_time()
    results = run_meanfield(config, seed=0, semantics=semantics)
    total, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"\n### {semantics}: k = 2..14, training + deployment: {total:.1f} s wall")
    print(f"({cpu:.1f} s CPU over all threads; load average {os.getloadavg()[0]:.1f})\n")
    print("| k | states | Q entries | train s | deploy s | max Q | return (mean ± std) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.k} | {r.num_states:,} | {r.num_entries:,} | {r.train_seconds:.2f} | "
            f"{r.deploy_seconds:.2f} | {r.max_q:.4f} | {r.mean_return:.4f} ± {r.std_return:.4f} |"
        )
    a, b = plot_reward_against_k(
        out / f"meanfield_reward_vs_k_{semantics}.png",
        [r.k for r in results],
        [r.mean_return for r in results],
        [r.std_return for r in results],
    )
    print(f"\nfit: return(k) = {a:.4f} - {b:.4f} / sqrt(k)")
    return total


def _training_against_n(config, semantics: str, k: int, ns: list[int]) -> None:
    env = tabulate_environment(config)
    print(f"\n### training cost against n ({semantics}, k = {k})\n")
    print("| n | train s |")
    print("|---|---|")
    train_q(jax.random.key(0), env, config, k, semantics)  # warm-up (compilation)
    for n in ns:
        simulation = dataclasses.replace(config.simulation, num_local_agents=n)
        sized = dataclasses.replace(config, simulation=simulation)
        trained = train_q(jax.random.key(0), env, sized, k, semantics)
        print(f"| {n:,} | {trained.train_seconds:.3f} |")


def _big_deployment(config, semantics: str, k: int, n: int) -> None:
    env = tabulate_environment(config)
    trained = train_q(jax.random.key(0), env, config, k, semantics)
    print(f"\n### deployment on n = {n:,} agents ({semantics}, k = {k}, 20 runs x 200 steps)\n")
    print("| call | seconds | final return (mean) |")
    print("|---|---|---|")
    for call in ("first (with compilation)", "second"):
        start = time.perf_counter()
        curves = deploy_q(jax.random.key(1), env, trained, config, num_agents=n)
        print(f"| {call} | {time.perf_counter() - start:.2f} | {curves[:, -1].mean():.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--skip-paper", action="store_true")
    parser.add_argument("--big-n", type=int, default=10_000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    config = parse_config(builtin_config_dict())
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} CPUs")
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    _whole_run(config, "reference", args.out)
    if not args.skip_paper:
        _whole_run(config, "paper", args.out)
    _training_against_n(config, "paper", 8, [14, 1_000, 100_000])
    _big_deployment(config, "reference", 8, args.big_n)
    _big_deployment(config, "paper", 8, args.big_n)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
