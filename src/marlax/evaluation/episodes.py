"""E evaluation episodes of any `MemoryPolicy`, in one jitted program.

    results = jitted_run_episodes(key, env=env, policy=policy, num_episodes=256)
    results.returns      # f32[E, N] each agent's return up to the episode's first done
    results.lengths      # i32[E]
    results.won          # bool[E] (all False where the env defines no win, see `wins`)

Each episode starts from its own reset and is scanned for `env.max_steps` steps (every
episode ends by then, by termination or truncation); `vmap` runs the E episodes side by
side. An episode's return, length and win are counted up to its first `done` only: later
steps act on the frozen last state, and their rewards are masked out, so no auto-reset is
involved. The policy is a traced argument (its parameters are not baked into the program);
its memory is cleared at each episode's first step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.algorithms.common.tallied_play import PlayedStep, play_tallied
from marlax.envs.base import Env
from marlax.evaluation.wins import win_condition
from marlax.validate import require, require_positive_int

MAX_EPISODE_STEPS = 100_000
"""Longest episode the runner scans; an env without a shorter time limit is refused."""


@struct.dataclass
class EpisodeResults:
    """What E evaluation episodes gave."""

    returns: jax.Array  # f32[E, N] each agent's summed reward up to the first done
    lengths: jax.Array  # i32[E] steps up to and including the first done
    won: jax.Array  # bool[E] the episode's last state is a win (False if the env has none)


def play_episode(key: jax.Array, env: Env, policy: MemoryPolicy) -> EpisodeResults:
    """One episode from a reset, scanned for `env.max_steps` steps (`play_tallied`).

    Keys: `reset_key, loop_key = split(key)`; step t uses `split(loop_key, max_steps)[t]`,
    split into `policy_key, env_key` (as `marlax.play.record.rollout` does).

    Returns:
        `EpisodeResults` of one episode: returns f32[N], lengths i32[], won bool[].
    """
    won_fn = win_condition(env)

    def _tally(results: EpisodeResults, step: PlayedStep) -> EpisodeResults:
        """Adds a live step's rewards and length; a win counts at the first done only."""
        ends_now = step.live & step.done
        won = results.won | (ends_now & won_fn(step.state)) if won_fn is not None else results.won
        return EpisodeResults(
            returns=results.returns + jnp.where(step.live, step.reward, 0.0),
            lengths=results.lengths + step.live.astype(jnp.int32),
            won=won,
        )

    start = EpisodeResults(
        returns=jnp.zeros(env.num_agents, jnp.float32),
        lengths=jnp.zeros((), jnp.int32),
        won=jnp.zeros((), bool),
    )
    return play_tallied(key, env, policy, env.reset, _tally, start)


def run_episodes(
    key: jax.Array, env: Env, policy: MemoryPolicy, num_episodes: int
) -> EpisodeResults:
    """`num_episodes` episodes side by side (`play_episode` vmapped over `split(key, E)`).

    Args:
        key: PRNG key.
        env: the environment (static under jit); its `max_steps` bounds every episode.
        policy: a `MemoryPolicy` (traced).
        num_episodes: E >= 1 (static).

    Returns:
        `EpisodeResults`: returns f32[E, N], lengths i32[E], won bool[E].
    """
    keys = jax.random.split(key, num_episodes)
    return jax.vmap(play_episode, in_axes=(0, None, None))(keys, env, policy)


jitted_run_episodes = jax.jit(run_episodes, static_argnames=("env", "num_episodes"))
"""`run_episodes` compiled once per (env, num_episodes) and kind of policy: pass them by
keyword."""


def check_episode_settings(env: Env, num_episodes: int) -> int:
    """`num_episodes` as an int after checking it and the env's time limit (ConfigError)."""
    num_episodes = require_positive_int("episodes", num_episodes)
    require(
        env.max_steps <= MAX_EPISODE_STEPS,
        "max_steps",
        env.max_steps,
        f"an env whose episodes end within {MAX_EPISODE_STEPS} steps (set its max_steps)",
    )
    return num_episodes
