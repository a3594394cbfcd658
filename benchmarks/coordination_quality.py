"""Assignment quality: rounded Sinkhorn assignment cost over the optimum (scipy Hungarian).

Costs: uniform [0, 1] and 2-D Euclidean (agents and tasks uniform in the unit square), N = M.
Sinkhorn runs on U = -C with temperature annealing (start 1.0, decay 0.95) down to each
temperature, to a relative marginal error of `--threshold`, then `auction_rounding` (the
epsilon-scaling auction on the log-plan behind `round_assignment`; its bidding rounds reported).

    python benchmarks/coordination_quality.py [--seeds 3]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from marlax.coordination import assignment_cost, hungarian, log_sinkhorn, uniform_marginals
from marlax.coordination.rounding import auction_rounding

TEMPERATURES = {
    "uniform": (1e-2, 1e-3, 1e-4),
    "euclidean": (3e-2, 1e-2, 3e-3),
}


def costs(seed, num_agents, model):
    rng = np.random.default_rng(seed)
    if model == "uniform":
        return rng.uniform(size=(num_agents, num_agents)).astype(np.float32)
    agents, tasks = rng.uniform(size=(2, num_agents, 2))
    return np.linalg.norm(agents[:, None] - tasks[None], axis=-1).astype(np.float32)


def solve(cost, temperature, threshold, max_iterations):
    mask = jnp.ones(cost.shape[0], bool)
    log_a, log_b = uniform_marginals(mask, mask)
    result = log_sinkhorn(
        -cost,
        log_a,
        log_b,
        mask,
        mask,
        epsilon=temperature,
        num_iterations=max_iterations,
        threshold=threshold,
        epsilon_start=1.0,
        epsilon_decay=0.95,
    )
    tasks, rounds = auction_rounding(result.plan)
    return tasks, result.iterations, rounds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--threshold", type=float, default=1e-4)
    parser.add_argument("--max-iterations", type=int, default=20000)
    parser.add_argument("--models", nargs="+", default=list(TEMPERATURES))
    parser.add_argument(
        "--temperatures",
        type=float,
        nargs="+",
        default=None,
        help="override the per-model temperature sweep",
    )
    args = parser.parse_args()
    solver = jax.jit(solve, static_argnums=(1, 2, 3))
    print(f"threshold={args.threshold}, max iterations={args.max_iterations}, seeds={args.seeds}")
    print(
        "| cost | N | temperature | cost / optimum (mean, max) | Sinkhorn iterations (mean) "
        "| auction rounds (mean) | s/solve |"
    )
    print("|---|---|---|---|---|---|---|")
    for model in args.models:
        temperatures = args.temperatures or TEMPERATURES[model]
        for num_agents in args.agents:
            problems = [costs(seed, num_agents, model) for seed in range(args.seeds)]
            optima = [assignment_cost(c, hungarian(c)) for c in problems]
            for temperature in temperatures:
                ratios, iterations, rounds, seconds = [], [], [], []
                for cost, optimum in zip(problems, optima, strict=True):
                    start = time.perf_counter()
                    tasks, used, bids = solver(
                        jnp.asarray(cost), temperature, args.threshold, args.max_iterations
                    )
                    tasks = np.asarray(tasks)
                    seconds.append(time.perf_counter() - start)
                    ratios.append(assignment_cost(cost, tasks) / optimum)
                    iterations.append(int(used))
                    rounds.append(int(bids))
                print(
                    f"| {model} | {num_agents} | {temperature:g} | {np.mean(ratios):.3f}, "
                    f"{np.max(ratios):.3f} | {np.mean(iterations):.0f} | {np.mean(rounds):.0f} "
                    f"| {np.mean(seconds):.1f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
