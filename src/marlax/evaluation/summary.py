"""Per-episode results of one policy, summarised with 95% bootstrap confidence intervals.

    evaluation = summarize_episodes(results, has_win=False)   # results: EpisodeResults
    evaluation.team_return.mean, evaluation.team_return.low, evaluation.length.high
    evaluation.win_rate                                       # None: the env defines no win

The team return of an episode is the mean over agents of each agent's episode return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marlax.evaluation.episodes import EpisodeResults
from marlax.evaluation.stats import bootstrap_ci


@dataclass(frozen=True)
class Estimate:
    """A mean over episodes and its 95% percentile-bootstrap interval."""

    mean: float
    low: float
    high: float

    def to_json(self) -> dict:
        return {"mean": self.mean, "ci95": [self.low, self.high]}


@dataclass(frozen=True)
class EpisodeEvaluation:
    """E episodes of one policy (one seed of one run), on the host.

    Attributes:
        agent_returns: f64[E, N] each agent's episode return.
        lengths: i64[E] episode lengths.
        won: bool[E] wins, or None when the env defines no win.
    """

    agent_returns: np.ndarray
    lengths: np.ndarray
    won: np.ndarray | None

    @property
    def num_episodes(self) -> int:
        return int(self.lengths.shape[0])

    @property
    def team_returns(self) -> np.ndarray:
        """f64[E]: the mean over agents of each agent's episode return."""
        return self.agent_returns.mean(axis=1)

    @property
    def team_return(self) -> Estimate:
        return estimate(self.team_returns)

    @property
    def length(self) -> Estimate:
        return estimate(self.lengths)

    @property
    def win_rate(self) -> Estimate | None:
        return None if self.won is None else estimate(self.won)

    def summary_json(self) -> dict:
        """{"episodes", "team_return", "length", "win_rate"}, each a mean and its ci95."""
        win_rate = self.win_rate
        return {
            "episodes": self.num_episodes,
            "team_return": self.team_return.to_json(),
            "length": self.length.to_json(),
            "win_rate": None if win_rate is None else win_rate.to_json(),
        }

    def episodes_json(self) -> dict:
        """The per-episode values: team and agent returns, lengths, wins (null: no win)."""
        return {
            "team_return": self.team_returns.tolist(),
            "agent_returns": self.agent_returns.tolist(),
            "length": self.lengths.tolist(),
            "won": None if self.won is None else self.won.tolist(),
        }


def estimate(values: np.ndarray) -> Estimate:
    """The mean of `values` (f64[E]) and its percentile-bootstrap interval."""
    values = np.asarray(values, np.float64)
    low, high = bootstrap_ci(values)
    return Estimate(float(values.mean()), low, high)


def summarize_episodes(results: EpisodeResults, *, has_win: bool) -> EpisodeEvaluation:
    """`EpisodeResults` (device arrays) as an `EpisodeEvaluation` on the host."""
    return EpisodeEvaluation(
        agent_returns=np.asarray(results.returns, np.float64),
        lengths=np.asarray(results.lengths, np.int64),
        won=np.asarray(results.won, bool) if has_win else None,
    )


def pooled(evaluations: list[EpisodeEvaluation]) -> EpisodeEvaluation:
    """The episodes of several evaluations (e.g. every seed of a run) as one."""
    wins = [evaluation.won for evaluation in evaluations]
    return EpisodeEvaluation(
        agent_returns=np.concatenate([evaluation.agent_returns for evaluation in evaluations]),
        lengths=np.concatenate([evaluation.lengths for evaluation in evaluations]),
        won=None if any(won is None for won in wins) else np.concatenate(wins),
    )
