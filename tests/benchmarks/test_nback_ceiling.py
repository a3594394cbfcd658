"""The Bayes-optimal n-back answerer (`benchmarks/nback_ceiling.py`) on cases known by hand."""

from __future__ import annotations

import numpy as np

from tests.benchmarks.loader import load_benchmark


def test_a_single_lag_is_known_from_the_start() -> None:
    """max_n = 1: n = 0 always, every label is "match" and the agent knows it: accuracy 1."""
    accuracy = load_benchmark("nback_ceiling").optimal_accuracy(1, 2, steps=16, episodes=50)
    np.testing.assert_array_equal(accuracy, [1.0])


def test_two_lags_cost_at_most_one_early_guess() -> None:
    """max_n = 2, 16 steps: step 0's label tells n = 0 (match) from n = 1 (no match) and the
    agent answers "no match" at step 0 (a tie of the two lags): right for n = 1 always, wrong
    for n = 0 once, so accuracies are 15/16 and 1."""
    accuracy = load_benchmark("nback_ceiling").optimal_accuracy(2, 2, steps=16, episodes=200)
    np.testing.assert_allclose(accuracy, [15 / 16, 1.0])
