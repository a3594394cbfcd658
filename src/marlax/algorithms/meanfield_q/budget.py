"""Refuse runs too large to finish: table sizes, training work and deployment work per k.

Each check raises `ConfigError` naming the setting to lower, its value and the product that
went over its cap (caps in `constants.py`). The checks run up front for every k
(`config.validate_ks`) and again where the work happens (table builders, `train_*`,
`deploy`), so the Python API is guarded as well as the CLI. Sizes: B local states, A local
actions, G global states, C global actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from marlax.algorithms.meanfield_q.constants import (
    MAX_DEPLOYMENT_BATCH,
    MAX_DEPLOYMENT_WORK,
    MAX_STORED_DRAWS,
    MAX_TABLE_ENTRIES,
    MAX_TABULATED_ENTRIES,
    MAX_TRAINING_WORK,
)
from marlax.algorithms.meanfield_q.multisets import num_multisets
from marlax.errors import ConfigError


@dataclass(frozen=True)
class SpaceSizes:
    """The sizes of the four spaces."""

    num_local_states: int
    """B = |S_l|."""
    num_local_actions: int
    """A = |A_l|."""
    num_global_states: int
    """G = |S_g|."""
    num_global_actions: int
    """C = |A_g|."""


def table_size(k: int, sizes: SpaceSizes, semantics: str) -> tuple[int, int]:
    """(number of mean-field states G*S, number of Q entries) for one k.

    reference: G*S states x C*D actions; paper: G x P count matrices x C.
    """
    num_states = sizes.num_global_states * num_multisets(sizes.num_local_states, k)
    if semantics == "reference":
        local_actions = num_multisets(sizes.num_local_actions, k)
        return num_states, num_states * sizes.num_global_actions * local_actions
    pairs = num_multisets(sizes.num_local_states * sizes.num_local_actions, k)
    return num_states, sizes.num_global_states * pairs * sizes.num_global_actions


def check_environment(sizes: SpaceSizes) -> None:
    """The tabulated environment (transition and reward tables) fits its cap."""
    b, a = sizes.num_local_states, sizes.num_local_actions
    g, c = sizes.num_global_states, sizes.num_global_actions
    entries = b * g * a * b + g * c * g
    if entries > MAX_TABULATED_ENTRIES:
        raise ConfigError(
            "environment",
            f"|S_l|={b}, |A_l|={a}, |S_g|={g}, |A_g|={c}",
            f"spaces whose tables |S_l|^2 |S_g| |A_l| + |S_g|^2 |A_g| = {entries:,} stay "
            f"within {MAX_TABULATED_ENTRIES:,} entries",
        )


def check_tables(k: int, entries: int, stored_draws: int) -> None:
    """Q entries, and Q entries x the Monte Carlo draws one sweep holds, fit their caps."""
    if entries > MAX_TABLE_ENTRIES:
        raise ConfigError(
            "k", k, f"a Q-table under {MAX_TABLE_ENTRIES:,} entries (got {entries:,})"
        )
    if entries * stored_draws > MAX_STORED_DRAWS:
        raise ConfigError(
            "simulation.monte_carlo_samples",
            stored_draws,
            f"Q entries (k={k}: {entries:,}) x samples = {entries * stored_draws:,} "
            f"within {MAX_STORED_DRAWS:,}",
        )


def check_training(k: int, entries: int, sweeps: int, draws: int) -> None:
    """Q entries x sweeps x draws per entry fits the training cap."""
    work = entries * sweeps * draws
    if work > MAX_TRAINING_WORK:
        raise ConfigError(
            "simulation.training_steps",
            sweeps,
            f"Q entries (k={k}: {entries:,}) x training_steps x samples ({draws}) = "
            f"{work:,} within {MAX_TRAINING_WORK:,}",
        )


def check_deployment(
    k: int, num_agents: int, horizon: int, num_runs: int, num_local_states: int
) -> None:
    """runs x horizon x n x k draws, and the per-step array of every run and agent, fit."""
    work = num_runs * horizon * num_agents * k
    if work > MAX_DEPLOYMENT_WORK:
        raise ConfigError(
            "simulation.horizon",
            horizon,
            f"deployment_runs x horizon x num_local_agents x k = {num_runs:,} x {horizon:,} "
            f"x {num_agents:,} x {k} = {work:,} within {MAX_DEPLOYMENT_WORK:,}",
        )
    batch = num_runs * num_agents * (k + 2) * num_local_states
    if batch > MAX_DEPLOYMENT_BATCH:
        raise ConfigError(
            "simulation.deployment_runs",
            num_runs,
            f"deployment_runs x num_local_agents x (k + 2) x |S_l| = {batch:,} "
            f"within {MAX_DEPLOYMENT_BATCH:,}",
        )


def training_draws(semantics: str, samples: int, local_stochastic: bool) -> tuple[int, int]:
    """(draws one sweep stores per entry, draws per entry per sweep) of a semantics.

    The reference sweep averages m next states per entry (identical ones when transitions
    are deterministic, to keep the published rounding); the paper sweep is exact for
    deterministic local moves and draws m fresh moves per entry otherwise.
    """
    if semantics == "reference":
        return samples, samples
    return 1, samples if local_stochastic else 1
