"""Comparing evaluated policies: interquartile mean and probability of improvement.

Two ways to form the groups that are compared (Agarwal et al. 2021, see `stats`):

- `groups_of_runs({"A": [...], "B": [...]})` (`marlax eval --group A=r1,r2 --group B=r3`):
  a group's scores are the mean team returns of its runs (every evaluated seed of a run
  counts as one run), stratified by task. Its IQM comes with a stratified-bootstrap interval,
  and P(A > B) is the chance that a run of A beats a run of B on the same task, averaged
  over the tasks both groups have.
- `groups_of_episodes([...])` (several RUNs, no --group): each evaluated seed is a group
  whose scores are its episodes' team returns; P(X > Y) is then the chance that an episode
  of X returns more than an episode of Y.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from marlax.evaluation.report import RunEvaluation, format_estimate
from marlax.evaluation.stats import (
    iqm,
    probability_of_improvement,
    probability_of_improvement_ci,
    stratified_bootstrap_ci,
)
from marlax.evaluation.summary import Estimate


@dataclass(frozen=True)
class Group:
    """Scores of one compared group, by task.

    Attributes:
        name: shown in the table.
        scores: task label -> f64[n] scores (runs' mean team returns, or episodes' returns).
    """

    name: str
    scores: Mapping[str, np.ndarray]

    @property
    def count(self) -> int:
        return sum(int(values.size) for values in self.scores.values())

    @property
    def iqm(self) -> Estimate:
        """IQM of every score, with the stratified-bootstrap (by task) 95% interval."""
        strata = list(self.scores.values())
        low, high = stratified_bootstrap_ci(strata, statistic=iqm)
        return Estimate(float(iqm(np.concatenate(strata))), low, high)


@dataclass(frozen=True)
class Improvement:
    """P(X > Y) over the tasks both groups were evaluated on (None when they share none)."""

    x: str
    y: str
    probability: Estimate | None


def groups_of_runs(named: Mapping[str, Sequence[RunEvaluation]]) -> list[Group]:
    """One group per name: each evaluated seed's mean team return, by task."""
    groups = []
    for name, evaluations in named.items():
        scores: dict[str, list[float]] = {}
        for evaluation in evaluations:
            for _, episodes in evaluation.seeds:
                scores.setdefault(evaluation.task, []).append(float(episodes.team_returns.mean()))
        groups.append(Group(name, {task: np.asarray(values) for task, values in scores.items()}))
    return groups


def groups_of_episodes(evaluations: Sequence[RunEvaluation]) -> list[Group]:
    """One group per evaluated seed ("run" or "run/seed" when a run has several): its
    episodes' team returns."""
    groups = []
    for evaluation in evaluations:
        for seed_index, episodes in evaluation.seeds:
            name = (
                evaluation.run if len(evaluation.seeds) == 1 else f"{evaluation.run}/{seed_index}"
            )
            groups.append(Group(name, {evaluation.task: episodes.team_returns}))
    return groups


def improvements(groups: Sequence[Group]) -> list[Improvement]:
    """P(X > Y) for every pair of groups, X listed before Y (P(Y > X) = 1 - P(X > Y))."""
    found = []
    for x, y in itertools.combinations(groups, 2):
        tasks = [task for task in x.scores if task in y.scores]
        if not tasks:
            found.append(Improvement(x.name, y.name, None))
            continue
        x_strata = [x.scores[task] for task in tasks]
        y_strata = [y.scores[task] for task in tasks]
        low, high = probability_of_improvement_ci(x_strata, y_strata)
        value = probability_of_improvement(x_strata, y_strata)
        found.append(Improvement(x.name, y.name, Estimate(value, low, high)))
    return found


def comparison_lines(groups: Sequence[Group], unit: str) -> list[str]:
    """Each group's IQM team return [95% CI], then P(X > Y) [95% CI] of every pair.

    Args:
        unit: what a score is ("runs" or "episodes").
    """
    width = max(len(group.name) for group in groups)
    lines = [f"across {unit}: IQM team return [95% CI, stratified bootstrap by task]"]
    lines += [
        f"  {group.name:<{width}}  {format_estimate(group.iqm)}  ({group.count} {unit})"
        for group in groups
    ]
    lines.append(f"probability of improvement P(X > Y) over {unit} [95% CI]")
    pairs = improvements(groups)
    pair_width = max(len(f"{pair.x} > {pair.y}") for pair in pairs)
    lines += [
        f"  {f'{pair.x} > {pair.y}':<{pair_width}}  {format_estimate(pair.probability)}"
        + ("" if pair.probability is not None else " (no task in common)")
        for pair in pairs
    ]
    return lines
