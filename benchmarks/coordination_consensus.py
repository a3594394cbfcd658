"""Consensus accuracy under outliers: Welsch (marlax default) vs geometric median vs mean.

Share of seeded trials with ||c - mu|| <= 0.25 sigma_in sqrt(D). Inliers N(mu, sigma_in^2 I);
a fraction f of agents are outliers, either a coordinated cluster (centre at k sigma_in
sqrt(D) from mu in a random direction, spread sigma_in; k = 2, 3, 5, 10) or scatter
N(mu, 100 sigma_in^2 I). "welsch sigma=1" is the previous default, for comparison.

    python benchmarks/coordination_consensus.py [--trials 256] [--agents 100 1000] [--dim 64]
        [--distances 2 3 5 10] [--fractions 0 0.1 0.2 0.3 0.4 0.45]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from marlax.coordination import RobustConsensus

FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.45)
CONTENDERS = {
    "welsch (default)": RobustConsensus(),
    "welsch sigma=1": RobustConsensus(sigma=1.0),
    "geometric median": RobustConsensus(method="geometric_median"),
    "mean": RobustConsensus(method="mean"),
}


def sample(key, num_trials, num_agents, dim, fraction, distance):
    """(responses f32[T, N, D], mu f32[T, D]); distance None means scattered outliers."""
    mu_key, inlier_key, direction_key, outlier_key = jax.random.split(key, 4)
    mu = 3.0 * jax.random.normal(mu_key, (num_trials, dim))
    inliers = mu[:, None] + jax.random.normal(inlier_key, (num_trials, num_agents, dim))
    noise = jax.random.normal(outlier_key, (num_trials, num_agents, dim))
    if distance is None:
        outliers = mu[:, None] + 10.0 * noise
    else:
        direction = jax.random.normal(direction_key, (num_trials, 1, dim))
        direction = direction / jnp.linalg.norm(direction, axis=-1, keepdims=True)
        outliers = mu[:, None] + distance * jnp.sqrt(dim) * direction + noise
    is_outlier = jnp.arange(num_agents) < round(fraction * num_agents)
    return jnp.where(is_outlier[None, :, None], outliers, inliers), mu


def success_rates(responses, mu):
    """Contender name -> share of trials within 0.25 sqrt(D) of mu."""
    radius = 0.25 * jnp.sqrt(responses.shape[-1])
    rates = {}
    for name, module in CONTENDERS.items():
        centroid, _ = jax.jit(module.apply)({}, responses)
        error = jnp.linalg.norm(centroid[:, 0] - mu, axis=-1)
        rates[name] = float(jnp.mean(error <= radius))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=256)
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument(
        "--distances",
        type=float,
        nargs="+",
        default=[2.0, 3.0, 5.0, 10.0],
        help="cluster distances k (centre at k sigma_in sqrt(D) from mu)",
    )
    parser.add_argument("--fractions", type=float, nargs="+", default=list(FRACTIONS))
    args = parser.parse_args()
    print(f"trials={args.trials}, D={args.dim}, success = ||c - mu|| <= 0.25 sigma_in sqrt(D)")
    print("| N | outliers | f | " + " | ".join(CONTENDERS) + " |")
    print("|---" * (3 + len(CONTENDERS)) + "|")
    key = jax.random.key(0)
    for num_agents in args.agents:
        for distance in (*args.distances, None):
            label = "scatter" if distance is None else f"cluster {distance:g} sqrt(D)"
            for fraction in args.fractions:
                key, trial_key = jax.random.split(key)
                responses, mu = sample(
                    trial_key, args.trials, num_agents, args.dim, fraction, distance
                )
                rates = success_rates(responses, mu)
                cells = " | ".join(f"{100 * rate:.1f}%" for rate in rates.values())
                print(f"| {num_agents} | {label} | {fraction} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
