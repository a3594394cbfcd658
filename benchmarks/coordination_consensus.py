"""Consensus accuracy under outliers: Welsch (marlax default) vs geometric median vs mean.

Share of seeded trials with ||c - mu|| <= 0.25 sigma_in sqrt(D). Inliers N(mu, sigma_in^2 I),
D = 64; a fraction f of agents are outliers, either a coordinated far cluster (centre at
10 sigma_in sqrt(D) from mu in a random direction, spread sigma_in) or scatter
N(mu, 100 sigma_in^2 I).

    python benchmarks/coordination_consensus.py [--trials 256]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

from marlax.coordination import RobustConsensus

DIM = 64
FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.45)
METHODS = ("welsch", "geometric_median", "mean")


def sample(key, num_trials, num_agents, fraction, model, sigma_in=1.0):
    """(responses f32[T, N, D], mu f32[T, D]) with round(f N) outliers per trial."""
    mu_key, inlier_key, direction_key, outlier_key = jax.random.split(key, 4)
    mu = 3.0 * jax.random.normal(mu_key, (num_trials, DIM))
    inliers = mu[:, None] + sigma_in * jax.random.normal(inlier_key, (num_trials, num_agents, DIM))
    noise = jax.random.normal(outlier_key, (num_trials, num_agents, DIM))
    if model == "cluster":
        direction = jax.random.normal(direction_key, (num_trials, 1, DIM))
        direction = direction / jnp.linalg.norm(direction, axis=-1, keepdims=True)
        outliers = mu[:, None] + 10 * sigma_in * jnp.sqrt(DIM) * direction + sigma_in * noise
    else:
        outliers = mu[:, None] + 10 * sigma_in * noise
    is_outlier = jnp.arange(num_agents) < round(fraction * num_agents)
    return jnp.where(is_outlier[None, :, None], outliers, inliers), mu


def success_rates(key, num_trials, num_agents, fraction, model):
    responses, mu = sample(key, num_trials, num_agents, fraction, model)
    rates = {}
    for method in METHODS:
        module = RobustConsensus(method=method)
        centroid, _ = jax.jit(module.apply)({}, responses)
        error = jnp.linalg.norm(centroid[:, 0] - mu, axis=-1)
        rates[method] = float(jnp.mean(error <= 0.25 * jnp.sqrt(DIM)))
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=256)
    parser.add_argument("--agents", type=int, nargs="+", default=[100, 1000])
    args = parser.parse_args()
    print(f"trials={args.trials}, D={DIM}, success = ||c - mu|| <= 0.25 sigma_in sqrt(D)")
    print("| N | outliers | f | welsch (marlax) | geometric median | mean |")
    print("|---|---|---|---|---|---|")
    key = jax.random.key(0)
    for num_agents in args.agents:
        for model in ("cluster", "scatter"):
            for fraction in FRACTIONS:
                key, trial_key = jax.random.split(key)
                rates = success_rates(trial_key, args.trials, num_agents, fraction, model)
                cells = " | ".join(f"{100 * rates[m]:.1f}%" for m in METHODS)
                print(f"| {num_agents} | {model} | {fraction} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
