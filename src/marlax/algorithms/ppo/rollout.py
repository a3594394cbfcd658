"""Collect T steps of every task with the current policy (one `lax.scan`, vmapped envs)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.ppo.networks import Networks, Params
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.types import EpisodeStats, RunnerState, TaskRunner, Transition
from marlax.models.heads import distribution


def reset_runner(key: jax.Array, layout: TaskLayout, networks: Networks) -> RunnerState:
    """Fresh episodes for every env of every task, and empty memories."""
    tasks = []
    for task, task_key in zip(layout.tasks, jax.random.split(key, layout.num_tasks), strict=True):
        obs, env_state = task.vector_env.reset(task_key)
        agents = task.env.num_agents
        tasks.append(
            TaskRunner(
                env_state=env_state,
                obs=obs,
                episode_return=jnp.zeros((task.num_envs, agents), jnp.float32),
                episode_length=jnp.zeros((task.num_envs,), jnp.int32),
            )
        )
    actor_carry, critic_carry = networks.initialize_carry((layout.total_envs, layout.max_agents))
    reset = jnp.ones((layout.total_envs,), bool)
    return RunnerState(tuple(tasks), reset, actor_carry, critic_carry)


def joint_inputs(
    layout: TaskLayout, networks: Networks, tasks: tuple[TaskRunner, ...] | list
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """What the networks read this step, concatenated over tasks.

    Returns:
        (model_obs [B, N, ...], critic_obs f32[B, N, S] (S = 0 for IPPO), legal bool[B, N, A]).
    """
    model_obs = jnp.concatenate(
        [layout.model_obs(i, runner.obs) for i, runner in enumerate(tasks)], axis=0
    )
    batch = (layout.total_envs, layout.max_agents)
    if networks.centralised:
        critic_obs = jnp.concatenate(
            [layout.critic_obs(i, r.env_state, r.obs) for i, r in enumerate(tasks)], axis=0
        )
    else:
        critic_obs = jnp.zeros((*batch, 0), jnp.float32)
    if layout.continuous:
        legal = jnp.zeros((*batch, 0), bool)
    else:
        legal = jnp.concatenate(
            [layout.legal_mask(i, r.env_state) for i, r in enumerate(tasks)], axis=0
        )
    return model_obs, critic_obs, legal


def evaluate(
    networks: Networks,
    params: Params,
    actor_carry: Any,
    critic_carry: Any,
    model_obs: jax.Array,
    critic_obs: jax.Array,
    reset: jax.Array,
) -> tuple[Any, Any, Any, jax.Array]:
    """One step of the actor (and critic).

    Returns:
        (actor carry, critic carry, policy output, value f32[B, N]).
    """
    actor_carry, (policy_output, value) = networks.actor.apply(
        params["actor"], actor_carry, model_obs, reset
    )
    if networks.critic is not None:
        critic_input = critic_obs if networks.centralised else model_obs
        critic_carry, (_, value) = networks.critic.apply(
            params["critic"], critic_carry, critic_input, reset
        )
    return actor_carry, critic_carry, policy_output, value


def _legal_or_none(legal: jax.Array) -> jax.Array | None:
    return None if legal.shape[-1] == 0 else legal


def _step_task(
    key: jax.Array, layout: TaskLayout, index: int, runner: TaskRunner, actions: jax.Array
) -> tuple[TaskRunner, dict, EpisodeStats]:
    """Step one task's envs; returns the new runner, the step's outputs and ended episodes."""
    task = layout.tasks[index]
    obs, env_state, reward, done, info = task.vector_env.step(
        key, runner.env_state, layout.env_actions(index, actions)
    )
    episode_return = runner.episode_return + reward
    episode_length = runner.episode_length + 1
    stats = EpisodeStats(done, episode_return.mean(axis=-1), episode_length)
    runner = TaskRunner(
        env_state=env_state,
        obs=obs,
        episode_return=jnp.where(done[:, None], 0.0, episode_return),
        episode_length=jnp.where(done, 0, episode_length),
    )
    outputs = {
        "reward": layout.pad_agents(index, reward),
        "done": done,
        "terminated": info["terminated"],
        "final_obs": info["final_obs"],
        "final_state": info["final_state"],
    }
    return runner, outputs, stats


def _concat(items: list) -> Any:
    return jax.tree.map(lambda *leaves: jnp.concatenate(leaves, axis=0), *items)


def rollout_step(
    layout: TaskLayout,
    networks: Networks,
    params: Params,
    runner: RunnerState,
    key: jax.Array,
    bootstrap_truncation: bool = True,
) -> tuple[RunnerState, tuple[Transition, EpisodeStats]]:
    """Act in every env once; the scan body of `rollout` (carries `runner`, stacks the step).

    With `bootstrap_truncation` False the value of `final_obs` is not computed (taken as 0)."""
    act_key, *env_keys = jax.random.split(key, 1 + layout.num_tasks)
    batch = (layout.total_envs, layout.max_agents)
    model_obs, critic_obs, legal = joint_inputs(layout, networks, runner.tasks)
    reset = jnp.broadcast_to(runner.reset[:, None], batch)
    actor_carry, critic_carry, policy_output, value = evaluate(
        networks, params, runner.actor_carry, runner.critic_carry, model_obs, critic_obs, reset
    )
    policy = distribution(policy_output, _legal_or_none(legal))
    action = policy.sample(act_key)
    log_prob = policy.log_prob(action)

    tasks, outputs, stats = [], [], []
    for index, (task_runner, env_key) in enumerate(zip(runner.tasks, env_keys, strict=True)):
        offset = layout.env_offsets[index]
        task_actions = action[offset : offset + layout.tasks[index].num_envs]
        new_runner, output, stat = _step_task(env_key, layout, index, task_runner, task_actions)
        tasks.append(new_runner)
        outputs.append(output)
        stats.append(stat)

    # bootstrap through truncation: the value of the observation the episode was cut at,
    # seen with the memory the agent had at that moment
    if bootstrap_truncation:
        final_inputs = [
            TaskRunner(output["final_state"], output["final_obs"], None, None) for output in outputs
        ]
        final_model_obs, final_critic_obs, _ = joint_inputs(layout, networks, final_inputs)
        no_reset = jnp.zeros(batch, bool)
        *_, final_value = evaluate(
            networks, params, actor_carry, critic_carry, final_model_obs, final_critic_obs, no_reset
        )
    else:
        final_value = jnp.zeros(batch, jnp.float32)
    done = jnp.concatenate([output["done"] for output in outputs])
    terminated = jnp.concatenate([output["terminated"] for output in outputs])
    transition = Transition(
        model_obs=model_obs,
        critic_obs=critic_obs,
        reset=reset,
        action=action,
        log_prob=log_prob,
        value=value,
        reward=jnp.concatenate([output["reward"] for output in outputs]),
        done=jnp.broadcast_to(done[:, None], batch),
        terminated=jnp.broadcast_to(terminated[:, None], batch),
        final_value=final_value,
        legal_mask=legal,
    )
    runner = RunnerState(tuple(tasks), done, actor_carry, critic_carry)
    return runner, (transition, _concat(stats))


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

    def _body(carry: RunnerState, step_key: jax.Array) -> tuple:
        return rollout_step(layout, networks, params, carry, step_key, bootstrap_truncation)

    runner, (transitions, stats) = jax.lax.scan(_body, runner, jax.random.split(key, num_steps))
    model_obs, critic_obs, _ = joint_inputs(layout, networks, runner.tasks)
    reset = jnp.broadcast_to(runner.reset[:, None], (layout.total_envs, layout.max_agents))
    *_, last_value = evaluate(
        networks, params, runner.actor_carry, runner.critic_carry, model_obs, critic_obs, reset
    )
    return runner, transitions, stats, last_value
