"""One update of one seed: collect a chunk per env, store it, learn, refresh the target.

    state, metrics = q_update(state, setup)

An update (i) plays one chunk of T steps in each of the B envs with the current epsilon,
(ii) adds the B chunks to the replay, (iii) once `learning_starts` env steps are collected and
the replay holds a batch, takes `gradient_steps` gradient steps on sampled chunks, and (iv)
every `target_update_interval` updates moves the target network towards the online one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from marlax.algorithms.common.episodes import episode_metrics
from marlax.algorithms.q_learning.explore import epsilon_at
from marlax.algorithms.q_learning.networks import Params, QNetworks
from marlax.algorithms.q_learning.replay import Chunk, EpisodeReplay
from marlax.algorithms.q_learning.rollout import collect_chunks
from marlax.algorithms.q_learning.targets import (
    ChunkBatch,
    TDLoss,
    chosen_q,
    next_q,
    squared_td,
    td_target,
    team_reward,
)
from marlax.config.q_learning import QLearningConfig
from marlax.envs.base import Env


@struct.dataclass
class QTrainState:
    """One seed's learner: online and target parameters, optimiser, replay and key."""

    params: Params
    target_params: Params
    opt_state: Any
    buffer: Any  # the replay's flashbax state
    key: jax.Array  # key[]
    update: jax.Array  # i32[] updates done


@dataclass(frozen=True)
class QSetup:
    """Everything static an update needs (hashable; closed over by the jitted program)."""

    env: Env
    num_envs: int
    chunk_length: int
    total_env_steps: int
    networks: QNetworks
    replay: EpisodeReplay
    optimizer: optax.GradientTransformation
    q_learning: QLearningConfig

    @property
    def env_steps_per_update(self) -> int:
        return self.chunk_length * self.num_envs


def chunk_loss(params: Params, target_params: Params, chunks: Chunk, setup: QSetup) -> TDLoss:
    """The TD loss of IQL / VDN / QMIX / MF-Q on sampled chunks (leading axis K)."""
    q_learning, networks = setup.q_learning, setup.networks
    time_major = jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), chunks)
    batch = ChunkBatch(
        time_major.actions, time_major.reward, time_major.terminated, time_major.legal
    )
    steps, count = batch.terminated.shape
    first = jnp.ones((1, count), bool)
    last = jnp.zeros((1, count), bool)  # o_T continues the chunk's last episode
    reset = jnp.concatenate([first, time_major.done[:-1], last])
    reset = jnp.broadcast_to(reset[..., None], (steps + 1, count, networks.num_agents))
    online = networks.sequence(params, time_major.obs, reset)
    target = networks.sequence(target_params, time_major.obs, reset)
    target = jax.lax.stop_gradient(target)
    taken = chosen_q(online[:-1], batch.actions)
    bootstrap = next_q(online, target, batch.legal, q_learning.double_q)
    if networks.mixer in ("iql", "mfq"):
        return squared_td(
            taken, td_target(batch.reward, batch.terminated, bootstrap, q_learning.gamma)
        )
    state = time_major.state
    q_tot = networks.mix(params, taken, state[:-1])
    next_tot = networks.mix(target_params, bootstrap, state[1:])
    reward = team_reward(batch.reward, q_learning.team_reward)
    return squared_td(q_tot, td_target(reward, batch.terminated, next_tot, q_learning.gamma))


def _gradient_step(state: QTrainState, key: jax.Array, setup: QSetup) -> tuple[QTrainState, TDLoss]:
    chunks = setup.replay.sample(state.buffer, key)

    def _loss(params: Params) -> tuple[jax.Array, TDLoss]:
        parts = chunk_loss(params, state.target_params, chunks, setup)
        return parts.loss, parts

    grads, parts = jax.grad(_loss, has_aux=True)(state.params)
    updates, opt_state = setup.optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return state.replace(params=params, opt_state=opt_state), parts


def _learn(state: QTrainState, key: jax.Array, setup: QSetup) -> tuple[QTrainState, TDLoss]:
    """`gradient_steps` steps; the losses' means."""
    keys = jax.random.split(key, setup.q_learning.gradient_steps)
    state, parts = jax.lax.scan(lambda s, k: _gradient_step(s, k, setup), state, keys)
    return state, jax.tree.map(jnp.mean, parts)


def _skip_learning(state: QTrainState, key: jax.Array, setup: QSetup):
    del key, setup
    nan = jnp.full((), jnp.nan, jnp.float32)
    return state, TDLoss(nan, nan, nan)


def q_update(state: QTrainState, setup: QSetup) -> tuple[QTrainState, dict[str, jax.Array]]:
    """One whole update of one seed (see the module docstring).

    Returns:
        (the next state, metrics f32[] each: return, length, episodes, epsilon, loss/td,
        q/taken, q/target; the losses are NaN on updates that do not learn).
    """
    q_learning = setup.q_learning
    next_key, collect_key, learn_key = jax.random.split(state.key, 3)
    steps_before = state.update * setup.env_steps_per_update
    epsilon = epsilon_at(q_learning, steps_before.astype(jnp.float32), setup.total_env_steps)
    chunks, stats = collect_chunks(
        collect_key,
        setup.env,
        setup.num_envs,
        setup.networks,
        state.params,
        epsilon,
        setup.chunk_length,
    )
    state = state.replace(buffer=setup.replay.add(state.buffer, chunks))
    steps_after = steps_before + setup.env_steps_per_update
    ready = setup.replay.can_sample(state.buffer) & (steps_after > q_learning.learning_starts)
    state, parts = jax.lax.cond(
        ready,
        lambda s, k: _learn(s, k, setup),
        lambda s, k: _skip_learning(s, k, setup),
        state,
        learn_key,
    )
    update = state.update + 1
    refresh = update % q_learning.target_update_interval == 0
    moved = optax.incremental_update(state.params, state.target_params, q_learning.tau)
    target = jax.tree.map(lambda new, old: jnp.where(refresh, new, old), moved, state.target_params)
    metrics = {
        **episode_metrics(stats),
        "epsilon": epsilon,
        "loss/td": parts.loss,
        "q/taken": parts.q_taken,
        "q/target": parts.target,
    }
    return state.replace(target_params=target, key=next_key, update=update), metrics
