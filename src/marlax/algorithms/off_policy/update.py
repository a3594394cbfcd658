"""One update of one seed: play T steps per env, store them, learn, report.

    state, metrics = off_policy_update(state, setup)

An update (i) plays `num_steps` steps in each of the B envs from where the last update left
them (uniform-random actions until `learning_starts` env steps are collected, then the
actor's with exploration), (ii) adds the T * B transitions to the replay, and (iii) once
`learning_starts` env steps are collected and the replay holds a batch, takes
`gradient_steps` gradient steps, each followed by a Polyak step of the targets (`learn.py`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.algorithms.common.episodes import episode_metrics
from marlax.algorithms.off_policy.learn import learn, skip_learning
from marlax.algorithms.off_policy.rollout import Exploration, collect, noise_std_at
from marlax.algorithms.off_policy.types import OffPolicySetup, OffPolicyTrainState


def off_policy_update(
    state: OffPolicyTrainState, setup: OffPolicySetup
) -> tuple[OffPolicyTrainState, dict[str, jax.Array]]:
    """One whole update of one seed (see the module docstring).

    Returns:
        (the next state, metrics f32[] each: return, length, episodes, (continuous MADDPG)
        noise_std, the
        losses and Q statistics of `learn.py` (NaN on updates that do not learn)).
    """
    off_policy = setup.off_policy
    next_key, collect_key, learn_key = jax.random.split(state.key, 3)
    steps_before = state.update * setup.env_steps_per_update
    steps_after = steps_before + setup.env_steps_per_update
    exploration = Exploration(
        uniform=steps_before < off_policy.learning_starts,
        noise_std=noise_std_at(off_policy, steps_before.astype(jnp.float32), setup.total_env_steps),
    )
    obs, log_state, transitions, stats = collect(
        collect_key, state.obs, state.log_state, state.params, exploration, setup
    )
    buffer = setup.replay.add(state.buffer, transitions)
    state = state.replace(obs=obs, log_state=log_state, buffer=buffer)
    ready = setup.replay.can_sample(buffer) & (steps_after > off_policy.learning_starts)
    state, learned = jax.lax.cond(
        ready,
        lambda s, k: learn(s, k, setup),
        lambda s, k: skip_learning(s, k, setup),
        state,
        learn_key,
    )
    metrics = {**episode_metrics(stats), **learned}
    if setup.algorithm == "maddpg" and not setup.networks.discrete:
        metrics["noise_std"] = exploration.noise_std
    return state.replace(key=next_key, update=state.update + 1), metrics
