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
from flax import struct

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.envs.wrappers.trial import TrialEnv
from marlax.validate import require_positive_int


@struct.dataclass
class _Carry:
    """Scan carry of one trial: what the next step acts on, and the tallies so far."""

    obs: jax.Array  # f32[N, D + F + 2]
    state: Any  # the TrialState (frozen once the trial is over)
    memory: Any  # the policy's memory
    first: jax.Array  # bool[] the next step is the trial's first
    over: jax.Array  # bool[] the trial has ended
    returns: jax.Array  # f32[k] team return of each inner episode so far


def held_out_tasks(key: jax.Array, env: TrialEnv, num_tasks: int) -> Any:
    """`num_tasks` tasks drawn from `key` (a stream training never uses): leaves [M, ...]."""
    require_positive_int("num_tasks", num_tasks)
    return jax.vmap(env.sample_task)(jax.random.split(key, num_tasks))


def play_trial(key: jax.Array, env: TrialEnv, policy: MemoryPolicy, task: Any) -> jax.Array:
    """One trial of `task`, scanned for `env.max_steps` steps.

    Keys: `reset_key, loop_key = split(key)`; step t uses `split(loop_key, max_steps)[t]`,
    split into `policy_key, env_key`.

    Returns:
        f32[k]: the team return (mean over agents) of each inner episode of the trial.
    """
    reset_key, loop_key = jax.random.split(key)
    obs, state = env.reset_to_task(reset_key, task)

    def _body(carry: _Carry, step_key: jax.Array) -> tuple[_Carry, None]:
        """Carries the trial's state and per-episode returns; stacks nothing."""
        policy_key, env_key = jax.random.split(step_key)
        actions, memory = policy.act(policy_key, carry.obs, carry.state, carry.memory, carry.first)
        obs, state, reward, done, info = env.step(env_key, carry.state, actions)
        live = ~carry.over
        team_reward = jnp.where(live, jnp.mean(reward), 0.0)
        episode = jnp.minimum(info["episode_in_trial"], env.episodes_per_trial - 1)
        returns = carry.returns.at[episode].add(team_reward)
        # after the trial's end keep its last state and count nothing more
        state = jax.tree.map(lambda old, new: jnp.where(live, new, old), carry.state, state)
        obs = jnp.where(live, obs, carry.obs)
        return _Carry(obs, state, memory, jnp.zeros((), bool), carry.over | done, returns), None

    start = _Carry(
        obs=obs,
        state=state,
        memory=policy.initial_memory(),
        first=jnp.ones((), bool),
        over=jnp.zeros((), bool),
        returns=jnp.zeros(env.episodes_per_trial, jnp.float32),
    )
    end, _ = jax.lax.scan(_body, start, jax.random.split(loop_key, env.max_steps))
    return end.returns


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
