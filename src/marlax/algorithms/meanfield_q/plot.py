"""Plots: cumulative reward per k (mean and a one-std band) and final reward against k."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from marlax.runs.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_cumulative_rewards(
    path: str | Path,
    ks: Sequence[int],
    mean_curves: Sequence[np.ndarray],
    std_curves: Sequence[np.ndarray],
    title: str = "",
) -> Path:
    """Mean cumulative discounted reward against time, one line and std band per k.

    Args:
        mean_curves: per k, f32[T].
        std_curves: per k, f32[T].
    """
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 5))
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, max(len(ks), 1)))
    for k, mean, std, colour in zip(ks, mean_curves, std_curves, colours, strict=True):
        steps = np.arange(len(mean))
        axes.plot(steps, mean, color=colour, label=f"k={k}")
        axes.fill_between(steps, mean - std, mean + std, color=colour, alpha=0.2)
    axes.set_xlabel("time step")
    axes.set_ylabel("cumulative discounted reward")
    axes.set_title(title or f"Mean-field subsample Q-learning, k = {min(ks)}..{max(ks)}")
    axes.legend(ncol=2, fontsize="small")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=120)
    plt.close(figure)
    return path


def fit_inverse_sqrt(ks: Sequence[int], values: Sequence[float]) -> tuple[float, float]:
    """Least-squares (a, b) of values ~ a - b / sqrt(k)."""
    design = np.stack([np.ones(len(ks)), -1.0 / np.sqrt(np.asarray(ks, float))], axis=1)
    (a, b), *_ = np.linalg.lstsq(design, np.asarray(values, float), rcond=None)
    return float(a), float(b)


def plot_reward_against_k(
    path: str | Path, ks: Sequence[int], means: Sequence[float], stds: Sequence[float]
) -> tuple[float, float]:
    """Final reward against k with the fit a - b/sqrt(k); returns (a, b)."""
    plt = _pyplot()
    a, b = fit_inverse_sqrt(ks, means)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.errorbar(ks, means, yerr=stds, fmt="o", capsize=3, label="deployed return")
    grid = np.linspace(min(ks), max(ks), 200)
    axes.plot(grid, a - b / np.sqrt(grid), label=f"{a:.3f} - {b:.3f}/sqrt(k)")
    axes.set_xlabel("k")
    axes.set_ylabel("mean cumulative discounted reward")
    axes.legend()
    axes.grid(alpha=0.3)
    figure.tight_layout()
    with atomic_path(Path(path)) as temporary:
        figure.savefig(temporary, dpi=120)
    plt.close(figure)
    return a, b
