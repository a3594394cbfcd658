"""Sinkhorn: marlax.coordination.log_sinkhorn against ott-jax 0.6 (the anchor), same run.

Same cost matrices (uniform [0, 1]), same epsilon, same fixed iteration count, lse mode in both;
B = 32 problems under vmap. Forward = the plan; gradient = d/dU of sum(plan * W).
ott-jax runs with threshold -1 and min = max iterations (no early stop), marginals 1/N, 1/M
(its plan is rescaled by N to compare with ours: each agent carries mass 1). Gradient
accuracy: the smallest cosine over the batch with marlax's unrolled gradient, which is exact
for the truncated plan both libraries return.

    python benchmarks/coordination_sinkhorn.py [--sizes 100x100 1000x1000 5000x100]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
from ott.geometry import geometry
from ott.problems.linear import linear_problem
from ott.solvers.linear import sinkhorn as ott_sinkhorn

from marlax.bench.profiling import measure_interleaved
from marlax.coordination.sinkhorn import log_sinkhorn, uniform_marginals

EPSILON = 0.05
BATCH = 32


def ours(utility, num_iterations, differentiation):
    num_agents, num_tasks = utility.shape
    agent_mask, task_mask = jnp.ones(num_agents, bool), jnp.ones(num_tasks, bool)
    log_a, log_b = uniform_marginals(agent_mask, task_mask)
    return log_sinkhorn(
        utility,
        log_a,
        log_b,
        agent_mask,
        task_mask,
        epsilon=EPSILON,
        num_iterations=num_iterations,
        differentiation=differentiation,
    ).plan


def ott(utility, num_iterations, implicit):
    num_agents, num_tasks = utility.shape
    geom = geometry.Geometry(cost_matrix=-utility, epsilon=EPSILON)
    problem = linear_problem.LinearProblem(
        geom, jnp.ones(num_agents) / num_agents, jnp.ones(num_tasks) / num_tasks
    )
    extra = {} if implicit else {"implicit_diff": None}
    solver = ott_sinkhorn.Sinkhorn(
        threshold=-1.0,
        min_iterations=num_iterations,
        max_iterations=num_iterations,
        inner_iterations=min(10, num_iterations),
        **extra,
    )
    return solver(problem).matrix * num_agents


def _variants(num_iterations):
    """name -> batched plan function f32[B, N, M] -> f32[B, N, M]."""

    def batched(function, *settings):
        return jax.vmap(lambda utility: function(utility, num_iterations, *settings))

    return {
        "marlax auto (default)": batched(ours, "auto"),
        "marlax implicit": batched(ours, "implicit"),
        "marlax unroll+checkpoint": batched(ours, "unroll"),
        "ott-jax implicit (default)": batched(ott, True),
        "ott-jax unrolled": batched(ott, False),
    }


def run(sizes, iteration_counts, repeats, forward_only=False):
    """Forward pairs and gradient variants, each group timed interleaved (same load)."""
    rows = []
    for size in sizes:
        num_agents, num_tasks = (int(part) for part in size.split("x"))
        utility_key, weight_key = jax.random.split(jax.random.key(0))
        utility = jax.random.uniform(utility_key, (BATCH, num_agents, num_tasks))
        weights = jax.random.normal(weight_key, (BATCH, num_agents, num_tasks))
        for num_iterations in iteration_counts:
            variants = _variants(num_iterations)
            forward_names = ["marlax auto (default)", "ott-jax implicit (default)"]
            plans = [jax.jit(variants[name])(utility) for name in forward_names]
            difference = float(jnp.max(jnp.abs(plans[0] - plans[1])))
            forward = measure_interleaved(
                {name: variants[name] for name in forward_names}, utility, repeats=repeats
            )
            if forward_only:
                for name in forward_names:
                    rows.append(
                        (size, num_iterations, name, forward.get(name), None, difference, None)
                    )
                    line = _format(rows[-1]).replace("grad failed at run time |", "")
                    print(f"{line} - | - | {difference:.1e} |", flush=True)
                continue
            losses = {
                name: jax.grad(lambda u, f=function, w=weights: jnp.sum(f(u) * w))
                for name, function in variants.items()
                if _gradient_runs(function, weights, utility)
            }
            gradient = measure_interleaved(losses, utility, repeats=repeats)
            cosines = _cosines_with_unrolled(losses, utility)
            for name in variants:
                timing = (forward.get(name), gradient.get(name))
                rows.append((size, num_iterations, name, *timing, difference, cosines.get(name)))
                print(_format(rows[-1]), flush=True)
    return rows


def _cosines_with_unrolled(losses, utility):
    """name -> min over the batch of cos(gradient, marlax unrolled gradient).

    The unrolled gradient is the exact gradient of the truncated plan both libraries return
    (same plan to 1e-6), so this is each variant's gradient accuracy.
    """
    exact = jax.jit(losses["marlax unroll+checkpoint"])(utility)
    cosines = {}
    for name, loss in losses.items():
        gradient = jax.jit(loss)(utility)
        dot = jnp.sum(gradient * exact, axis=(1, 2))
        norms = jnp.linalg.norm(gradient, axis=(1, 2)) * jnp.linalg.norm(exact, axis=(1, 2))
        cosines[name] = float(jnp.min(dot / norms))
    return cosines


def _gradient_runs(function, weights, utility):
    """False when the gradient fails at run time (ott-jax's implicit linear solve raises
    when its CG does not converge on an unconverged plan): a peer failure is a result."""
    try:
        jax.block_until_ready(jax.jit(jax.grad(lambda u: jnp.sum(function(u) * weights)))(utility))
        return True
    except Exception as error:  # noqa: BLE001
        print(f"  gradient failed: {type(error).__name__}", flush=True)
        return False


def _format(row):
    size, iterations, name, forward, gradient, difference, cosine = row
    mib = 1024**2
    fwd = f"{forward.median_s * 1e3:9.1f} | {forward.temp_bytes / mib:8.1f}" if forward else "|"
    if gradient is None:
        return f"| {size:>9} | {iterations:>3} | {name:<27} | {fwd} | grad failed at run time |"
    return (
        f"| {size:>9} | {iterations:>3} | {name:<27} | {fwd} | {gradient.median_s * 1e3:9.1f} "
        f"| {gradient.temp_bytes / mib:9.1f} | {difference:.1e} | {cosine:.4f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100x100", "1000x1000", "5000x100"])
    parser.add_argument("--iterations", nargs="+", type=int, default=[10, 50])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--forward-only", action="store_true", help="skip the gradient runs")
    args = parser.parse_args()
    print(f"B={BATCH}, epsilon={EPSILON}, devices={jax.devices()}")
    print(
        "| N x M | iters | implementation | fwd ms | fwd temp MiB | grad ms | grad temp MiB "
        "| max plan diff vs ott | min grad cos vs unrolled |"
    )
    run(args.sizes, args.iterations, args.repeats, args.forward_only)


if __name__ == "__main__":
    main()
