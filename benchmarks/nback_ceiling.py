"""The best accuracy any policy can reach on variable n-back: the Bayes-optimal answerer.

The hidden lag n is uniform in [0, max_n). At step t the optimal agent keeps the set of lags
consistent with every label seen so far (a label is revealed by the previous action and
reward), answers the label most of the surviving lags predict (ties: "no match"), then
removes the lags the true label contradicts. Its accuracy per n is the ceiling the learning
tables are read against: the early answers of an episode are guesses for every policy.

    python benchmarks/nback_ceiling.py --max-n 8 --max-value 2 --steps 64 --episodes 20000
"""

from __future__ import annotations

import argparse

import numpy as np


def optimal_accuracy(
    max_n: int, max_value: int, steps: int, episodes: int, seed: int = 0
) -> np.ndarray:
    """f64[max_n]: the Bayes-optimal agent's fraction of correct answers per hidden lag."""
    rng = np.random.default_rng(seed)
    correct = np.zeros(max_n)
    count = np.zeros(max_n)
    lags = np.arange(max_n)
    for _ in range(episodes):
        n = int(rng.integers(0, max_n))
        values = rng.integers(0, max_value, steps)
        alive = np.ones(max_n, bool)
        right = 0
        for t in range(steps):
            earlier = values[np.maximum(t - lags, 0)]
            labels = (t >= lags) & (values[t] == earlier)  # bool[max_n]: each lag's label
            answer = labels[alive].mean() > 0.5
            right += answer == labels[n]
            alive &= labels == labels[n]
        correct[n] += right / steps
        count[n] += 1
    return correct / np.maximum(count, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-n", type=int, default=8)
    parser.add_argument("--max-value", type=int, default=2)
    parser.add_argument("--steps", type=int, default=64)
    parser.add_argument("--episodes", type=int, default=20000)
    args = parser.parse_args()
    accuracy = optimal_accuracy(args.max_n, args.max_value, args.steps, args.episodes)
    header = " | ".join(f"n={n}" for n in range(args.max_n))
    print(f"| policy | {header} |")
    print("|---|" + "---:|" * args.max_n)
    print("| Bayes-optimal | " + " | ".join(f"{a:.3f}" for a in accuracy) + " |")


if __name__ == "__main__":
    main()
