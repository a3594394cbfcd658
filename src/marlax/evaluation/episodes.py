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

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.policy import MemoryPolicy
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


@struct.dataclass
class _Carry:
    """Scan carry of one episode: what the next step acts on, and the tallies so far."""

    obs: jax.Array  # [N, ...]
    state: Any  # env State (frozen once the episode is over)
    memory: Any  # the policy's memory
    first: jax.Array  # bool[] the next step is the episode's first
    over: jax.Array  # bool[] the episode has ended
    returns: jax.Array  # f32[N]
    length: jax.Array  # i32[]
    won: jax.Array  # bool[]


def play_episode(key: jax.Array, env: Env, policy: MemoryPolicy) -> EpisodeResults:
    """One episode from a reset, scanned for `env.max_steps` steps.

    Keys: `reset_key, loop_key = split(key)`; step t uses `split(loop_key, max_steps)[t]`,
    split into `policy_key, env_key` (as `marlax.play.record.rollout` does).

    Returns:
        `EpisodeResults` of one episode: returns f32[N], lengths i32[], won bool[].
    """
    won_fn = win_condition(env)
    reset_key, loop_key = jax.random.split(key)
    obs, state = env.reset(reset_key)

    def _body(carry: _Carry, step_key: jax.Array) -> tuple[_Carry, None]:
        """Carries the episode's state and tallies; stacks nothing."""
        policy_key, env_key = jax.random.split(step_key)
        actions, memory = policy.act(policy_key, carry.obs, carry.state, carry.memory, carry.first)
        obs, state, reward, done, _ = env.step(env_key, carry.state, actions)
        live = ~carry.over
        ends_now = live & done
        won = carry.won | (ends_now & won_fn(state)) if won_fn is not None else carry.won
        # after the first done the episode is over: keep its last state, count nothing more
        state = jax.tree.map(lambda old, new: jnp.where(live, new, old), carry.state, state)
        obs = jnp.where(live, obs, carry.obs)
        return _Carry(
            obs=obs,
            state=state,
            memory=memory,
            first=jnp.zeros((), bool),
            over=carry.over | done,
            returns=carry.returns + jnp.where(live, reward, 0.0),
            length=carry.length + live.astype(jnp.int32),
            won=won,
        ), None

    start = _Carry(
        obs=obs,
        state=state,
        memory=policy.initial_memory(),
        first=jnp.ones((), bool),
        over=jnp.zeros((), bool),
        returns=jnp.zeros(env.num_agents, jnp.float32),
        length=jnp.zeros((), jnp.int32),
        won=jnp.zeros((), bool),
    )
    end, _ = jax.lax.scan(_body, start, jax.random.split(loop_key, env.max_steps))
    return EpisodeResults(returns=end.returns, lengths=end.length, won=end.won)


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
