"""Whole trials of a trained policy on given tasks: the return of each episode of a trial.

    env = run_policy.env                                       # a TrialEnv (k episodes a trial)
    tasks = held_out_tasks(jax.random.key(10_000), env, 64)   # task pytree, leaves [M, ...]
    returns = jitted_trial_episode_returns(key, env=env, policy=run_policy.policy, tasks=tasks)
    returns.mean(axis=0)      # f32[k]: mean return of episode 1..k of a trial

An RL² policy that adapts in context does better in later episodes of a trial than in the
first: `returns[:, 1:].mean() - returns[:, 0].mean()` is the improvement. The policy is any
`MemoryPolicy`; its memory is cleared once, at the trial's first step, and kept across the
trial's inner episodes, as in training.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.algorithms.common.tallied_play import PlayedStep, play_tallied
from marlax.envs.wrappers.trial import TrialEnv
from marlax.validate import require_positive_int


def held_out_tasks(key: jax.Array, env: TrialEnv, num_tasks: int) -> Any:
    """`num_tasks` tasks drawn from `key` (a stream training never uses): leaves [M, ...]."""
    require_positive_int("num_tasks", num_tasks)
    return jax.vmap(env.sample_task)(jax.random.split(key, num_tasks))


def play_trial(key: jax.Array, env: TrialEnv, policy: MemoryPolicy, task: Any) -> jax.Array:
    """One trial of `task`, scanned for `env.max_steps` steps (`play_tallied`: the trial is
    the episode, so the policy's memory is kept across its inner episodes).

    Keys: `reset_key, loop_key = split(key)`; step t uses `split(loop_key, max_steps)[t]`,
    split into `policy_key, env_key`.

    Returns:
        f32[k]: the team return (mean over agents) of each inner episode of the trial.
    """

    def _reset(reset_key: jax.Array) -> tuple[jax.Array, Any]:
        return env.reset_to_task(reset_key, task)

    def _tally(returns: jax.Array, step: PlayedStep) -> jax.Array:
        """Adds a live step's team reward to its inner episode's return f32[k]."""
        team_reward = jnp.where(step.live, jnp.mean(step.reward), 0.0)
        episode = jnp.minimum(step.info["episode_in_trial"], env.episodes_per_trial - 1)
        return returns.at[episode].add(team_reward)

    start = jnp.zeros(env.episodes_per_trial, jnp.float32)
    return play_tallied(key, env, policy, _reset, _tally, start)


def trial_episode_returns(
    key: jax.Array, env: TrialEnv, policy: MemoryPolicy, tasks: Any
) -> jax.Array:
    """One trial per task, side by side (`play_trial` vmapped over tasks and `split(key, M)`).

    Args:
        key: PRNG key.
        env: the `TrialEnv` (static under jit).
        policy: a `MemoryPolicy` (traced), e.g. `load_run_policy(...).policy`.
        tasks: the family's task pytree with a leading axis M (`held_out_tasks`).

    Returns:
        f32[M, k]: the team return of inner episode 1..k of each task's trial.
    """
    num_tasks = jax.tree.leaves(tasks)[0].shape[0]
    keys = jax.random.split(key, num_tasks)
    return jax.vmap(play_trial, in_axes=(0, None, None, 0))(keys, env, policy, tasks)


jitted_trial_episode_returns = jax.jit(trial_episode_returns, static_argnames=("env",))
"""`trial_episode_returns` compiled once per env and kind of policy: pass `env` by keyword."""
