"""Bootstrap intervals, IQM and probability of improvement: hand values, scipy, invariants."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from marlax.errors import ConfigError
from marlax.evaluation.stats import (
    bootstrap_ci,
    iqm,
    mean,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)


def test_iqm_by_hand():
    assert iqm(np.arange(1, 9)) == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert iqm(np.array([1.0, 2.0, 100.0])) == pytest.approx(103 / 3)  # n = 3 cuts nothing
    assert iqm(np.array([5.0, -100.0, 7.0, 6.0, 1000.0])) == pytest.approx(6.0)  # cuts 1 each end
    assert iqm(np.array([2.5])) == 2.5


@pytest.mark.parametrize("size", [1, 2, 4, 5, 7, 8, 13, 100])
def test_iqm_matches_scipy_trim_mean(size):
    values = np.random.default_rng(size).normal(size=(3, size))
    expected = scipy.stats.trim_mean(values, 0.25, axis=-1)
    np.testing.assert_allclose(iqm(values), expected)


def test_probability_of_improvement_by_hand():
    # pairs (x, y): 2 > 1, 2 = 2 (1/2), 2 < 3, 4 > 1, 4 > 2, 4 > 3 -> (1 + .5 + 0 + 3) / 6
    assert probability_of_improvement([[2.0, 4.0]], [[1.0, 2.0, 3.0]]) == pytest.approx(4.5 / 6)
    assert probability_of_improvement([[1.0, 1.0]], [[1.0]]) == pytest.approx(0.5)  # all ties
    assert probability_of_improvement([[3.0]], [[1.0, 2.0]]) == 1.0
    # averaged over tasks: task 0 gives 1, task 1 gives 0
    assert probability_of_improvement([[5.0], [0.0]], [[1.0], [9.0]]) == pytest.approx(0.5)


def test_probability_of_improvement_is_complementary():
    rng = np.random.default_rng(3)
    x, y = [rng.integers(0, 4, 6).astype(float)], [rng.integers(0, 4, 5).astype(float)]
    assert probability_of_improvement(x, y) + probability_of_improvement(y, x) == pytest.approx(1)


def test_probability_of_improvement_matches_mann_whitney():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=9), rng.normal(size=6) + 0.3
    statistic = scipy.stats.mannwhitneyu(x, y, alternative="greater").statistic
    assert probability_of_improvement([x], [y]) == pytest.approx(statistic / (9 * 6))


def test_bootstrap_ci_contains_the_mean_and_shrinks_with_more_data():
    rng = np.random.default_rng(0)
    small, large = rng.normal(1.0, 2.0, 20), rng.normal(1.0, 2.0, 2000)
    small_low, small_high = bootstrap_ci(small)
    large_low, large_high = bootstrap_ci(large)
    assert small_low < small.mean() < small_high
    assert large_low < large.mean() < large_high
    assert large_high - large_low < (small_high - small_low) / 5  # ~ 1 / sqrt(100) as wide
    # the width of a mean's 95% interval is about 2 * 1.96 * sd / sqrt(n)
    expected = 2 * 1.96 * large.std() / np.sqrt(large.size)
    assert large_high - large_low == pytest.approx(expected, rel=0.1)


def test_bootstrap_is_deterministic_and_seeded():
    values = np.random.default_rng(1).normal(size=50)
    assert bootstrap_ci(values) == bootstrap_ci(values)
    assert bootstrap_ci(values, seed=1) != bootstrap_ci(values, seed=0)


def test_bootstrap_of_constant_values_is_a_point():
    assert bootstrap_ci(np.full(7, 3.0)) == (3.0, 3.0)
    assert stratified_bootstrap_ci([np.full(3, 1.0), np.full(2, 1.0)]) == (1.0, 1.0)


def test_stratified_bootstrap_keeps_each_stratum_in_every_resample():
    # two tasks far apart: a plain bootstrap of the pool would sometimes draw one task only,
    # a stratified one always holds 2 values of each, so the mean stays exactly 50
    low, high = stratified_bootstrap_ci([np.array([0.0, 0.0]), np.array([100.0, 100.0])], mean)
    assert (low, high) == (50.0, 50.0)
    pooled_low, pooled_high = bootstrap_ci(np.array([0.0, 0.0, 100.0, 100.0]))
    assert pooled_low < 50.0 < pooled_high


def test_stratified_iqm_interval_contains_the_iqm():
    rng = np.random.default_rng(2)
    strata = [rng.normal(0, 1, 10), rng.normal(3, 1, 10)]
    low, high = stratified_bootstrap_ci(strata, iqm)
    assert low < iqm(np.concatenate(strata)) < high


def test_chunked_resampling_gives_the_same_interval_as_one_block(monkeypatch):
    import marlax.evaluation.stats as stats

    values = np.random.default_rng(5).normal(size=40)
    whole = bootstrap_ci(values, num_resamples=500)
    monkeypatch.setattr(stats, "_MAX_RESAMPLED_VALUES", 40 * 7)  # 7 resamples per block
    assert bootstrap_ci(values, num_resamples=500) == whole


def test_probability_of_improvement_interval():
    x, y = [np.array([3.0, 4.0, 5.0, 6.0])], [np.array([1.0, 2.0, 3.0, 4.0])]
    low, high = probability_of_improvement_ci(x, y)
    assert 0.0 <= low <= probability_of_improvement(x, y) <= high <= 1.0
    assert probability_of_improvement_ci([[2.0]], [[1.0]]) == (1.0, 1.0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: bootstrap_ci([]),
        lambda: bootstrap_ci([1.0, float("nan")]),
        lambda: bootstrap_ci([1.0], num_resamples=0),
        lambda: bootstrap_ci([1.0], confidence=1.0),
        lambda: probability_of_improvement([[1.0]], [[1.0], [2.0]]),
    ],
)
def test_bad_input_is_a_config_error(call):
    with pytest.raises(ConfigError):
        call()
