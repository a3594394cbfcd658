"""Confidence intervals and robust aggregates for evaluation scores, in NumPy.

    low, high = bootstrap_ci(returns)                       # 95% percentile bootstrap of the mean
    iqm(np.arange(1, 9))                                    # 4.5: the mean of 3..6
    low, high = stratified_bootstrap_ci([task_a, task_b], statistic=iqm)
    probability_of_improvement([x_task_a], [y_task_a])      # P(X > Y), ties count 1/2

The aggregates follow Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice" (NeurIPS), as implemented by their `rliable` library: the
interquartile mean (IQM, a 25% trimmed mean with `scipy.stats.trim_mean` semantics), the
stratified bootstrap (runs resampled with replacement within each task), percentile
confidence intervals, and the average probability of improvement (the Mann-Whitney U
statistic over runs, averaged over tasks). `rliable` itself is not used: its bootstrap needs
`arch`, which fails to import with pandas 3, and it samples from NumPy's global RNG.

Every resampling uses its own `numpy.random.default_rng(seed)`, so results are reproducible.
Statistics take a leading batch of resamples: `statistic(f64[R, n]) -> f64[R]`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from marlax.validate import require, require_int, require_number

NUM_RESAMPLES = 10_000
"""Bootstrap resamples behind every interval."""
CONFIDENCE = 0.95
"""Coverage of every interval."""
BOOTSTRAP_SEED = 0
"""Seed of the bootstrap RNG: the same scores always give the same interval."""
IQM_TRIM = 0.25
"""Fraction cut from each end for the interquartile mean."""
_MAX_RESAMPLED_VALUES = 1 << 22  # values drawn at once: bounds memory for long score lists

Statistic = Callable[[np.ndarray], np.ndarray]
"""`statistic(f64[R, n]) -> f64[R]`: one value per resample (row)."""


def mean(values: np.ndarray) -> np.ndarray:
    """The mean of each row: f64[R, n] -> f64[R]."""
    return np.mean(values, axis=-1)


def iqm(values: np.ndarray) -> np.ndarray:
    """Interquartile mean of each row: the mean after cutting 25% of the values at each end.

    `scipy.stats.trim_mean(values, 0.25, axis=-1)`: floor(n / 4) values are cut from each end
    of the sorted row (IQM of 1..8 is the mean of 3..6 = 4.5; of 1..3 the plain mean).

    Args:
        values: f64[..., n] with n >= 1.

    Returns:
        f64[...].
    """
    values = np.sort(np.asarray(values, np.float64), axis=-1)
    count = values.shape[-1]
    cut = int(IQM_TRIM * count)
    return np.mean(values[..., cut : count - cut], axis=-1)


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: Statistic = mean,
    *,
    num_resamples: int = NUM_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of `statistic` over i.i.d. `values`.

    Args:
        values: f64[n], n >= 1.
        statistic: `f64[R, n] -> f64[R]` (default: the mean).

    Returns:
        (low, high): the (1 - confidence) / 2 and (1 + confidence) / 2 quantiles of the
        statistic over `num_resamples` resamples drawn with replacement.
    """
    return stratified_bootstrap_ci(
        [values], statistic, num_resamples=num_resamples, confidence=confidence, seed=seed
    )


def stratified_bootstrap_ci(
    strata: Sequence[Sequence[float] | np.ndarray],
    statistic: Statistic = iqm,
    *,
    num_resamples: int = NUM_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile interval of `statistic` over the pooled strata, resampled within each stratum.

    The stratified bootstrap of Agarwal et al. 2021: each task's runs are drawn with
    replacement from that task's runs only, so every resample keeps the tasks' weights.

    Args:
        strata: one f64[n_k] per stratum (task), each n_k >= 1.
        statistic: `f64[R, sum n_k] -> f64[R]` applied to the concatenated resample.

    Returns:
        (low, high) of the `confidence` interval.
    """
    arrays = _check_strata(strata)
    _check_settings(num_resamples, confidence)
    rng = np.random.default_rng(seed)
    pooled = sum(array.size for array in arrays)
    chunk = max(1, _MAX_RESAMPLED_VALUES // pooled)
    values = []
    for start in range(0, num_resamples, chunk):
        size = min(chunk, num_resamples - start)
        resampled = [_resample(rng, array, size) for array in arrays]
        values.append(statistic(np.concatenate(resampled, axis=1)))
    return _percentile_interval(np.concatenate(values), confidence)


def probability_of_improvement(
    x_strata: Sequence[Sequence[float] | np.ndarray],
    y_strata: Sequence[Sequence[float] | np.ndarray],
) -> float:
    """Average probability of improvement P(X > Y) (Agarwal et al. 2021; rliable).

    Per task m: P(X_m > Y_m) = 1 / (n_x n_y) * sum_i sum_j S(x_i, y_j), with S = 1 when
    x_i > y_j, 1/2 on a tie, 0 otherwise (the Mann-Whitney U statistic over n_x n_y); the
    result is the mean over tasks.

    Args:
        x_strata, y_strata: one f64[n] per task, the same tasks in the same order.

    Returns:
        A probability in [0, 1].
    """
    x_arrays, y_arrays = _check_pairs(x_strata, y_strata)
    per_task = [_improvement(x[None], y[None])[0] for x, y in zip(x_arrays, y_arrays, strict=True)]
    return float(np.mean(per_task))


def probability_of_improvement_ci(
    x_strata: Sequence[Sequence[float] | np.ndarray],
    y_strata: Sequence[Sequence[float] | np.ndarray],
    *,
    num_resamples: int = NUM_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile interval of `probability_of_improvement`, X's and Y's runs resampled
    independently within each task (rliable's `StratifiedIndependentBootstrap`)."""
    x_arrays, y_arrays = _check_pairs(x_strata, y_strata)
    _check_settings(num_resamples, confidence)
    rng = np.random.default_rng(seed)
    largest = max(x.size * y.size for x, y in zip(x_arrays, y_arrays, strict=True))
    chunk = max(1, _MAX_RESAMPLED_VALUES // largest)
    values = []
    for start in range(0, num_resamples, chunk):
        size = min(chunk, num_resamples - start)
        per_task = [
            _improvement(_resample(rng, x, size), _resample(rng, y, size))
            for x, y in zip(x_arrays, y_arrays, strict=True)
        ]
        values.append(np.mean(per_task, axis=0))
    return _percentile_interval(np.concatenate(values), confidence)


def _improvement(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) per row, ties 1/2: x f64[R, n_x], y f64[R, n_y] -> f64[R]."""
    greater = (x[:, :, None] > y[:, None, :]).mean(axis=(1, 2))
    ties = (x[:, :, None] == y[:, None, :]).mean(axis=(1, 2))
    return greater + 0.5 * ties


def _resample(rng: np.random.Generator, values: np.ndarray, size: int) -> np.ndarray:
    """f64[size, n]: `size` draws of n values with replacement."""
    return values[rng.integers(0, values.size, (size, values.size))]


def _percentile_interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def _check_strata(strata: Sequence[Sequence[float] | np.ndarray]) -> list[np.ndarray]:
    """Each stratum as f64[n_k] (n_k >= 1, finite); ConfigError otherwise."""
    arrays = [np.asarray(stratum, np.float64).reshape(-1) for stratum in strata]
    require(len(arrays) >= 1, "scores", strata, "at least one group of scores")
    for array in arrays:
        require(array.size >= 1, "scores", array.tolist(), "at least one score")
        require(bool(np.all(np.isfinite(array))), "scores", array.tolist(), "finite scores")
    return arrays


def _check_pairs(
    x_strata: Sequence[Sequence[float] | np.ndarray],
    y_strata: Sequence[Sequence[float] | np.ndarray],
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    x_arrays, y_arrays = _check_strata(x_strata), _check_strata(y_strata)
    require(
        len(x_arrays) == len(y_arrays),
        "scores",
        (len(x_arrays), len(y_arrays)),
        "the same number of tasks for X and Y",
    )
    return x_arrays, y_arrays


def _check_settings(num_resamples: int, confidence: float) -> None:
    require_int("num_resamples", num_resamples, minimum=1)
    require_number("confidence", confidence, 0.0, 1.0, open_low=True, open_high=True)
