"""Collect T steps of every task with the current policy (one `lax.scan`, vmapped envs).

The randomness of a whole rollout is drawn before the scan, in one call per kind: the action
noise f32[T, B, N, A] and the env keys [T, M]. On XLA:CPU `jax.random` runs its threefry
rounds as a loop whose per-call overhead dwarfs the work on a [B, N, A] array, so one draw
of T steps replaces T small ones (measured in `benchmarks/results/train_throughput.md`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.networks import Networks, Params
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.teams import team_inputs
from marlax.algorithms.ppo.types import (
    EpisodeStats,
    RunnerState,
    TaskRunner,
    TaskStep,
    TeamTransition,
    Transition,
)
from marlax.envs.spaces import Discrete
from marlax.models.coordinated import TeamInputs
from marlax.models.heads import Categorical, DiagGaussian, distribution


def reset_runner(key: jax.Array, layout: TaskLayout, networks: Networks) -> RunnerState:
    """Fresh episodes for every env of every task, and empty memories."""
    tasks = []
    for task, task_key in zip(layout.tasks, jax.random.split(key, layout.num_tasks), strict=True):
        obs, log_state = task.logged_env.reset(task_key)
        tasks.append(TaskRunner(log_state=log_state, obs=obs))
    actor_carry, critic_carry = networks.initialize_carry((layout.total_envs, layout.max_agents))
    reset = jnp.ones((layout.total_envs,), bool)
    return RunnerState(tuple(tasks), reset, actor_carry, critic_carry)


def joint_inputs(
    layout: TaskLayout,
    networks: Networks,
    env_states: Sequence[Any],
    observations: Sequence[jax.Array],
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """What the networks read this step, concatenated over tasks.

    Args:
        env_states: per task, its batched env state [B_i].
        observations: per task, [B_i, N_i, *obs_shape_i].

    Returns:
        (model_obs [B, N, ...], critic_state f32[B, C] one centralised-critic input per env
        (C = 0 without a centralised critic), legal bool[B, N, A] (A = 0 for continuous
        actions)).
    """
    pairs = list(enumerate(zip(env_states, observations, strict=True)))
    model_obs = jnp.concatenate([layout.model_obs(i, obs) for i, (_, obs) in pairs], axis=0)
    batch = (layout.total_envs, layout.max_agents)
    if networks.centralised:
        critic_state = jnp.concatenate(
            [layout.critic_state(i, state, obs) for i, (state, obs) in pairs], axis=0
        )
    else:
        critic_state = jnp.zeros((layout.total_envs, 0), jnp.float32)
    if layout.continuous:
        legal = jnp.zeros((*batch, 0), bool)
    else:
        legal = jnp.concatenate([layout.legal_mask(i, state) for i, (state, _) in pairs], axis=0)
    return model_obs, critic_state, legal


def step_team(
    layout: TaskLayout, networks: Networks, env_states: Sequence[Any]
) -> TeamInputs | None:
    """What team-coupled networks read this step besides the observations (agent mask, and
    the envs' tasks for an assignment: `teams.team_inputs`); None for uncoupled networks."""
    if not networks.team_coupled:
        return None
    return team_inputs(
        layout,
        env_states,
        networks.needs_tasks,
        networks.neighbourhood,
        networks.needs_task_offsets,
        networks.task_neighbourhood,
    )


def action_noise(key: jax.Array, layout: TaskLayout, num_steps: int) -> jax.Array:
    """Sampling noise for `num_steps` steps of every agent: f32[T, B, N, A].

    Standard Gumbel for discrete actions (argmax of logits + noise is a categorical sample,
    what `jax.random.categorical` does), standard normal for continuous ones.
    """
    space = layout.action_space
    width = space.n if isinstance(space, Discrete) else space.shape[0]
    shape = (num_steps, layout.total_envs, layout.max_agents, width)
    if layout.continuous:
        return jax.random.normal(key, shape, jnp.float32)
    return jax.random.gumbel(key, shape, jnp.float32)


def sample_with_noise(policy: Categorical | DiagGaussian, noise: jax.Array) -> jax.Array:
    """An action drawn from `policy` with pre-drawn `noise` f32[B, N, A] (see `action_noise`).

    Returns:
        i32[B, N] (an illegal action, logit about -1e9, is never the argmax) or f32[B, N, A].
    """
    if isinstance(policy, DiagGaussian):
        return policy.mean + jnp.exp(policy.log_std) * noise
    return jnp.argmax(policy.logits + noise, axis=-1).astype(jnp.int32)


def _step_task(
    key: jax.Array, layout: TaskLayout, index: int, runner: TaskRunner, actions: jax.Array
) -> tuple[TaskRunner, TaskStep, EpisodeStats]:
    """Step one task's envs; returns the new runner, the step's outputs and ended episodes."""
    obs, log_state, reward, done, info = layout.tasks[index].logged_env.step(
        key, runner.log_state, layout.env_actions(index, actions)
    )
    stats = EpisodeStats(
        done,
        info["returned_episode_return"].mean(axis=-1),
        info["returned_episode_length"],
    )
    outcome = TaskStep(
        reward=layout.pad_agents(index, reward),
        done=done,
        terminated=info["terminated"],
        final_obs=info["final_obs"],
        final_state=info["final_state"],
    )
    return TaskRunner(log_state=log_state, obs=obs), outcome, stats


def _concat(items: Sequence[Any]) -> Any:
    return jax.tree.map(lambda *leaves: jnp.concatenate(leaves, axis=0), *items)


def _final_values(
    layout: TaskLayout,
    networks: Networks,
    params: Params,
    runner: RunnerState,
    outcomes: Sequence[TaskStep],
    bootstrap_truncation: bool,
) -> jax.Array:
    """f32[B, N]: V(final_obs), seen with the memory after the step; 0 when not bootstrapping.

    Bootstrap through truncation: the value of the observation the episode was cut at, with
    the memory the agent had at that moment (`runner` holds the carries after the step)."""
    batch = (layout.total_envs, layout.max_agents)
    if not bootstrap_truncation:
        return jnp.zeros(batch, jnp.float32)
    final_states = [outcome.final_state for outcome in outcomes]
    final_model_obs, final_critic_state, _ = joint_inputs(
        layout, networks, final_states, [outcome.final_obs for outcome in outcomes]
    )
    *_, final_value = networks.evaluate(
        params,
        runner.actor_carry,
        runner.critic_carry,
        final_model_obs,
        final_critic_state,
        jnp.zeros(batch, bool),
        team=step_team(layout, networks, final_states),
    )
    return final_value


def _act_and_step(
    layout: TaskLayout,
    networks: Networks,
    params: Params,
    runner: RunnerState,
    env_keys: jax.Array,
    noise: jax.Array,
    bootstrap_truncation: bool,
) -> tuple[RunnerState, tuple[Transition, EpisodeStats]]:
    """Act in every env once with pre-drawn randomness (env_keys key[M], noise f32[B, N, A])."""
    batch = (layout.total_envs, layout.max_agents)
    env_states = [r.env_state for r in runner.tasks]
    model_obs, critic_state, legal = joint_inputs(
        layout, networks, env_states, [r.obs for r in runner.tasks]
    )
    reset = jnp.broadcast_to(runner.reset[:, None], batch)
    team = step_team(layout, networks, env_states)
    actor_carry, critic_carry, policy_output, value = networks.evaluate(
        params, runner.actor_carry, runner.critic_carry, model_obs, critic_state, reset, team=team
    )
    policy = distribution(policy_output, None if layout.continuous else legal)
    action = sample_with_noise(policy, noise)

    stepped = [
        _step_task(
            env_keys[index],
            layout,
            index,
            task_runner,
            action[offset : offset + layout.tasks[index].num_envs],
        )
        for index, (task_runner, offset) in enumerate(
            zip(runner.tasks, layout.env_offsets, strict=True)
        )
    ]
    tasks, outcomes, stats = zip(*stepped, strict=True)
    done = jnp.concatenate([outcome.done for outcome in outcomes])
    next_runner = RunnerState(tuple(tasks), done, actor_carry, critic_carry)
    fields = dict(
        model_obs=model_obs,
        critic_state=critic_state,
        reset=reset,
        action=action,
        log_prob=policy.log_prob(action),
        value=value,
        reward=jnp.concatenate([outcome.reward for outcome in outcomes]),
        done=jnp.broadcast_to(done[:, None], batch),
        terminated=jnp.broadcast_to(
            jnp.concatenate([outcome.terminated for outcome in outcomes])[:, None], batch
        ),
        final_value=_final_values(
            layout, networks, params, next_runner, outcomes, bootstrap_truncation
        ),
        legal_mask=legal,
    )
    transition = Transition(**fields) if team is None else TeamTransition(**fields, team=team)
    return next_runner, (transition, _concat(stats))


def rollout_step(
    layout: TaskLayout,
    networks: Networks,
    params: Params,
    runner: RunnerState,
    key: jax.Array,
    bootstrap_truncation: bool = True,
    greedy: bool = False,
) -> tuple[RunnerState, tuple[Transition, EpisodeStats]]:
    """Act in every env once (carries `runner`, returns the step's Transition [B, N, ...] and
    EpisodeStats [B]).

    With `bootstrap_truncation` False the value of `final_obs` is not computed (taken as 0).
    With `greedy` every agent takes its policy's mode (zero noise: the argmax of the legal
    logits, or the Gaussian mean) instead of a sample."""
    noise_key, env_key = jax.random.split(key)
    noise = action_noise(noise_key, layout, 1)[0]
    if greedy:
        noise = jnp.zeros_like(noise)
    env_keys = jax.random.split(env_key, layout.num_tasks)
    return _act_and_step(layout, networks, params, runner, env_keys, noise, bootstrap_truncation)


def rollout(
    key: jax.Array,
    layout: TaskLayout,
    networks: Networks,
    params: Params,
    runner: RunnerState,
    num_steps: int,
    bootstrap_truncation: bool = True,
) -> tuple[RunnerState, Transition, EpisodeStats, jax.Array]:
    """`num_steps` (T) steps of every env.

    Returns:
        (runner after the last step, transitions [T, B, N, ...], episode stats [T, B],
        last_value f32[B, N] = V of the observation after the last step).
    """
    noise_key, env_key = jax.random.split(key)
    noise = action_noise(noise_key, layout, num_steps)
    env_keys = jax.random.split(env_key, (num_steps, layout.num_tasks))

    def _body(carry: RunnerState, step: tuple[jax.Array, jax.Array]) -> tuple:
        """Carries the RunnerState; stacks (Transition, EpisodeStats) of the step."""
        step_env_keys, step_noise = step
        return _act_and_step(
            layout, networks, params, carry, step_env_keys, step_noise, bootstrap_truncation
        )

    runner, (transitions, stats) = jax.lax.scan(_body, runner, (env_keys, noise))
    env_states = [r.env_state for r in runner.tasks]
    model_obs, critic_state, _ = joint_inputs(
        layout, networks, env_states, [r.obs for r in runner.tasks]
    )
    reset = jnp.broadcast_to(runner.reset[:, None], (layout.total_envs, layout.max_agents))
    *_, last_value = networks.evaluate(
        params,
        runner.actor_carry,
        runner.critic_carry,
        model_obs,
        critic_state,
        reset,
        team=step_team(layout, networks, env_states),
    )
    return runner, transitions, stats, last_value
