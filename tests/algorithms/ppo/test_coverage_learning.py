"""IPPO learns coverage: trained policies cover more targets than a uniform-random policy.

Slow tier only. The N = 10 ippo cell of `benchmarks/coverage_learning.py` (10 agents, 10
targets, 32 envs, 3 seeds vmapped from root seed 0) at budget scale 0.25: 10 PPO updates,
16,000 env steps. The trained policy (sampled actions) and the random policy then play the
same 64 fresh 50-step episodes per seed. Measured (BENCHMARKS.md, "Learning on coverage"):
episode-mean covered fraction 0.181, 0.206, 0.188 trained vs 0.128, 0.127, 0.135 random, a
margin of at least 0.053 on every seed; the test asks for half of that on every seed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
BUDGET_SCALE = 0.25  # 10 of the benchmark's 40 updates at N = 10
NUM_SEEDS = 3
MIN_COVERED_MARGIN = 0.025  # half the smallest per-seed margin measured at this budget


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "marlax_bench_coverage_learning", ROOT / "benchmarks" / "coverage_learning.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_ippo_covers_more_than_random_at_ten_agents():
    bench = _benchmark()
    config = bench.cell_config(10, "ippo", BUDGET_SCALE, NUM_SEEDS)
    assert config.num_updates == 10
    trainer, state = bench.train(config, jax.random.key(0))
    result = bench.evaluate(trainer, state.params, bench.SCALES[10].eval_envs, NUM_SEEDS)
    trained, random = result["trained"], result["random"]
    # both policies saw the same episodes: the random one covers ~13% of targets by chance
    assert np.all((random["covered"] > 0.05) & (random["covered"] < 0.25))
    assert np.all(trained["covered"] - random["covered"] > MIN_COVERED_MARGIN), (
        trained["covered"],
        random["covered"],
    )
    # the return is the covered fraction minus the collision penalty, summed over 50 steps
    assert np.all(trained["return"] <= 50.0 * trained["covered"] + 1e-3)
    assert np.all(trained["return"] > random["return"])
