"""Score a candidate: train it with PPO in this process and average its last returns.

    scorer = ppo_scorer(score_updates=5)
    result = scorer(config)          # CandidateScore(score=21.7, env_steps=49152, seconds=14.2)

The score is the mean of PPO's training `return` metric (mean return of the episodes that
ended during an update's rollout, over tasks) over the last `score_updates` updates of the
run, pooled over `run.num_seeds` seeds; None when no episode ended in that window or the
training diverged to non-finite returns. Every candidate trains from `jax.random.key(run.seed)`
of its config, so candidates see the same seed (a paired comparison), and training is
deterministic: a candidate scored once needs no second run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import numpy as np

from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import TrainConfig
from marlax.validate import require, require_positive_int


class CandidateScore(NamedTuple):
    """What scoring one candidate gave."""

    score: float | None
    """Mean return over the last updates; None when nothing finite was measured."""
    env_steps: int
    """Environment steps it trained for, per seed."""
    seconds: float
    """Wall time of building, compiling and training it."""


Scorer = Callable[[TrainConfig], CandidateScore]
"""`scorer(candidate_config) -> CandidateScore`: the search's fitness (higher is better)."""


def tail_mean(returns: np.ndarray, count: int) -> float | None:
    """The mean of the finite returns of the last `count` updates.

    Args:
        returns: f32[S, U], one mean return per seed and update (NaN: no episode ended).
        count: how many last updates to average (all U when U < count).

    Returns:
        The mean over seeds and those updates of the finite entries, or None if none is.
    """
    require(returns.ndim == 2, "returns", returns.shape, "an array f32[S, U]")
    require_positive_int("count", count)
    tail = returns[:, -count:]
    finite = tail[np.isfinite(tail)]
    return float(finite.mean()) if finite.size else None


def ppo_score(config: TrainConfig, score_updates: int) -> CandidateScore:
    """Train `config` with PPO (all its updates in one jitted call) and score it.

    Args:
        config: a PPO training config (the candidate's).
        score_updates: updates at the end of the run whose returns are averaged.
    """
    require(config.algorithm == "ppo", "algorithm", config.algorithm, '"ppo" for a candidate')
    start = time.perf_counter()
    trainer = Trainer(config)
    state = trainer.init(jax.random.key(config.run.seed))
    state, metrics = trainer.update(state, trainer.num_updates)
    returns = np.asarray(jax.device_get(metrics["return"]), dtype=np.float64)
    env_steps = trainer.num_updates * trainer.env_steps_per_update
    return CandidateScore(tail_mean(returns, score_updates), env_steps, time.perf_counter() - start)


def ppo_scorer(score_updates: int) -> Scorer:
    """The search's default scorer: `ppo_score` with the last `score_updates` updates."""
    return partial(ppo_score, score_updates=require_positive_int("score_updates", score_updates))


__all__ = ["CandidateScore", "Scorer", "ppo_score", "ppo_scorer", "tail_mean"]
