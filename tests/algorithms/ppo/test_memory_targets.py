"""Issue 16's learning targets on the memory worlds, pinned at the measured budgets (slow tier).

Each test reruns a row of BENCHMARKS.md's "learning quality on the memory worlds" tables with
`benchmarks/learning.py` (same code path: training by `Trainer`, evaluation on fresh episodes
from the eval seed) and asserts the measured result less a margin for seed and float noise.

Variable n-back (max_n 8, 2 values, 64 answers): the Bayes-optimal answerer is right 0.98 of
the time at every n (`benchmarks/nback_ceiling.py`); accuracy is the greedy policy's fraction
of correct answers over the episodes of each hidden lag.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.benchmarks.loader import load_benchmark

NBACK_SCALE = 3  # the cells' 400k base budget x 3 = the shipped configs' 1.2M env steps
SEEDS = 3


def _greedy_accuracy(label: str) -> np.ndarray:
    """f32[SEEDS, 8]: greedy accuracy per seed and hidden lag after the shipped budget."""
    learning = load_benchmark("learning")
    cell = {cell.label: cell for cell in learning.CELLS}[label]
    row = learning.run_cell(cell, NBACK_SCALE, num_seeds=SEEDS, seed=0)[0]
    return np.asarray(row["accuracy"]["greedy"], np.float32)


@pytest.mark.slow
def test_grid_return_mlp_finds_the_treasure_on_every_seed() -> None:
    """grid_return (16x16, 4 agents, 128 steps; `configs/grid_return.json` with an MLP core),
    3 seeds, 0.2M env steps: every seed finds "dig to the treasure, come back".

    Telling a solved seed: a uniform-random team scores 0.15 finds per agent per episode; in
    BENCHMARKS.md the seeds that found the strategy scored 1.9-7.9 and the ones that had not
    0.2-1.0, so a seed counts as solved at >= 1.5 (10x random). Measured: 7.85, 3.58, 6.86.
    """
    learning = load_benchmark("learning")
    cell = {cell.label: cell for cell in learning.CELLS}["grid_return_mlp"]
    row = learning.run_cell(cell, 1.0, num_seeds=SEEDS, seed=0)[0]
    trained = np.asarray(row["trained"])
    assert np.mean(row["random"]) < 0.3, row["random"]
    assert (trained >= 1.5).all(), trained


@pytest.mark.slow
def test_grid_return_gru_finds_the_treasure_on_every_seed() -> None:
    """`configs/grid_return.json` (GRU 128, lr 3e-4, entropy 0.03, 128 envs), 3 seeds, 0.4M
    env steps: measured 8.15, 6.26, 7.71 finds per agent, every seed solved (>= 1.5, see the
    MLP test). With 32 envs the same budget solved 2 of 3 (9.86, 0.15, 7.37): seed index 1
    needs the larger batch (16 minibatches of 8 envs' sequences instead of 2)."""
    learning = load_benchmark("learning")
    cell = {cell.label: cell for cell in learning.CELLS}["grid_return"]
    row = learning.run_cell(cell, 1.0, num_seeds=SEEDS, seed=0)[0]
    trained = np.asarray(row["trained"])
    assert (trained >= 1.5).all(), trained
    assert np.mean(trained) >= 5.0, trained  # measured mean 7.37


@pytest.mark.slow
def test_grid_return_transformer_finds_the_treasure_on_every_seed() -> None:
    """`configs/grid_return_transformer.json` (d64, 2 layers, 4 heads, context 32; lr 3e-4,
    entropy 0.03, 128 envs), 3 seeds, 0.8M env steps: measured 10.01, 4.84, 9.13 finds per
    agent, every seed solved (>= 1.5, see the MLP test); seed index 1 crossed 1.5 at 0.48M.
    At 0.4M the same settings solved 2 of 3 (8.14, 0.46, 6.30). About 90 minutes on one core."""
    learning = load_benchmark("learning")
    cell = {cell.label: cell for cell in learning.CELLS}["grid_return_transformer"]
    row = learning.run_cell(cell, 1.0, num_seeds=SEEDS, seed=0)[0]
    trained = np.asarray(row["trained"])
    assert (trained >= 1.5).all(), trained
    assert np.mean(trained) >= 5.0, trained  # measured mean 8.0


@pytest.mark.slow
def test_nback_transformer_reaches_095_at_every_lag() -> None:
    """`configs/nback_transformer.json` (d128, 3 layers, 8 query heads over 2 kv heads,
    context 32, gamma 0), 3 seeds x 1.2M env steps: measured greedy accuracy 0.97-0.98 at
    every n in the mean over seeds (target 0.95), 0.944 for the worst seed's worst n. Pinned
    at 0.93 in the mean and 0.90 for every seed and n (about 8 episodes per n and seed)."""
    accuracy = _greedy_accuracy("nback_transformer")
    assert (np.nanmean(accuracy, axis=0) >= 0.93).all(), accuracy
    assert np.nanmin(accuracy) >= 0.90, accuracy


@pytest.mark.slow
def test_nback_gru_at_the_same_budget() -> None:
    """`configs/nback_gru.json` (GRU 128, the same PPO settings), 3 seeds x 1.2M env steps:
    measured 0.93-0.98 at every n in the mean over seeds, 0.889 for the worst seed's worst n.
    Pinned at 0.90 in the mean and 0.85 for every seed and n."""
    accuracy = _greedy_accuracy("nback_gru")
    assert (np.nanmean(accuracy, axis=0) >= 0.90).all(), accuracy
    assert np.nanmin(accuracy) >= 0.85, accuracy
