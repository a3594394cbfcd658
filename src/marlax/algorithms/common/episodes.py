"""Episode statistics of a rollout, the same for every off-policy learner.

stats = episode_stats(info)            # from a LogWrapper step's info, per env
metrics = episode_metrics(stats)       # {"return", "length", "episodes"} of one update
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp


class EpisodeStats(NamedTuple):
    """Episodes that ended during a rollout, per step and env: [T, B] each."""

    finished: jax.Array  # bool
    team_return: jax.Array  # f32 the finished episode's return, mean over agents
    length: jax.Array  # i32


def episode_stats(info: dict[str, jax.Array]) -> EpisodeStats:
    """One step's `EpisodeStats` [B] from the info of a `LogWrapper(VectorEnv(...))` step."""
    return EpisodeStats(
        info["returned_episode"],
        info["returned_episode_return"].mean(axis=-1),
        info["returned_episode_length"],
    )


def episode_metrics(stats: EpisodeStats) -> dict[str, jax.Array]:
    """Mean team return and length of the episodes that ended (NaN when none did), and how
    many ended (f32[] each)."""
    finished = stats.finished.astype(jnp.float32)
    count = finished.sum()
    safe = jnp.maximum(count, 1.0)
    mean_return = (stats.team_return * finished).sum() / safe
    mean_length = (stats.length * finished).sum() / safe
    return {
        "return": jnp.where(count > 0, mean_return, jnp.nan),
        "length": jnp.where(count > 0, mean_length, jnp.nan),
        "episodes": count,
    }
