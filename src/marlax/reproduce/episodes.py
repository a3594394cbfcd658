"""Team returns of a policy over fresh episodes, as `marlax eval` plays and counts them."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.envs.base import Env
from marlax.evaluation.episodes import check_episode_settings, jitted_run_episodes
from marlax.evaluation.summary import summarize_episodes


def team_returns(key: jax.Array, env: Env, policy: MemoryPolicy, num_episodes: int) -> Any:
    """`num_episodes` episodes from their own resets (`jitted_run_episodes`), summarised.

    Returns:
        The `EpisodeEvaluation`: `.team_returns` f64[E] (mean over agents of each agent's
        return), `.team_return` with its 95% bootstrap interval.
    """
    num_episodes = check_episode_settings(env, num_episodes)
    results = jitted_run_episodes(key, env=env, policy=policy, num_episodes=num_episodes)
    return summarize_episodes(results, has_win=False)


def over_seeds(per_seed: list[float]) -> dict[str, Any]:
    """{"mean", "std" (population, over seeds; absent for one seed), "per_seed"}."""
    values = np.asarray(per_seed, np.float64)
    summary: dict[str, Any] = {"mean": float(values.mean()), "per_seed": values.tolist()}
    if values.size > 1:
        summary["std"] = float(values.std())
    return summary
