"""Collect one episode chunk per env: reset every env, act epsilon-greedily for T steps.

Every chunk starts at a reset, so the agents' memory starts empty and the replay can unroll
the network over it from zero (`replay.py`). Envs that end an episode inside the chunk start
the next one at once (`VectorEnv`'s auto-reset) and the network's memory is reset with them.
The chunk stores the env's observations as the network read them (under MF-Q with the mean
action the `MeanFieldEnv` joined), so learning unrolls the network over the same inputs.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from marlax.algorithms.common.episodes import EpisodeStats, episode_stats
from marlax.algorithms.q_learning.explore import epsilon_greedy_with, exploration_noise
from marlax.algorithms.q_learning.networks import Params, QNetworks
from marlax.algorithms.q_learning.replay import Chunk
from marlax.envs.base import Env
from marlax.envs.wrappers import LogWrapper, VectorEnv


class _Carry(NamedTuple):
    obs: jax.Array  # [B, N, *obs_shape]
    log_state: Any
    memory: Any  # the agent network's carry [B, N, ...]
    reset: jax.Array  # bool[B] this step starts an episode
    final_obs: jax.Array  # [B, N, *obs_shape] the observation the last step stepped into
    final_state: Any  # [B] its env state, before any reset


def _legal(env: Env, env_state: Any) -> jax.Array:
    return jax.vmap(env.action_mask)(env_state)


def _global_state(networks: QNetworks, env: Env, env_state: Any, obs: jax.Array) -> jax.Array:
    """f32[B, S]: the global state (S = 0 unless QMIX reads it)."""
    if networks.state_size == 0:
        return jnp.zeros((obs.shape[0], 0), jnp.float32)
    state = jax.vmap(env.global_state)(env_state, obs)
    return state.reshape(obs.shape[0], -1).astype(jnp.float32)


def collect_chunks(
    key: jax.Array,
    env: Env,
    num_envs: int,
    networks: QNetworks,
    params: Params,
    epsilon: jax.Array,
    length: int,
) -> tuple[Chunk, EpisodeStats]:
    """Reset `num_envs` copies of `env` and play `length` steps epsilon-greedily.

    Returns:
        (chunks: a `Chunk` with a leading axis B, stats [T, B]).
    """
    logged = LogWrapper(VectorEnv(env, num_envs=num_envs))
    reset_key, step_key, act_key = jax.random.split(key, 3)
    obs, log_state = logged.reset(reset_key)
    inner = log_state.env_state
    memory = networks.initialize_carry((num_envs, env.num_agents))
    start = _Carry(obs, log_state, memory, jnp.ones((num_envs,), bool), obs, inner)
    shape = (length, num_envs, env.num_agents, networks.num_actions)
    keys = (jax.random.split(step_key, length), exploration_noise(act_key, shape))

    def _step(carry: _Carry, step_inputs: tuple) -> tuple[_Carry, tuple]:
        env_key, noise = step_inputs
        env_state = carry.log_state.env_state
        legal = _legal(env, env_state)
        agent_reset = jnp.broadcast_to(carry.reset[:, None], (num_envs, env.num_agents))
        memory, q = networks.step(params, carry.memory, carry.obs, agent_reset)
        actions = epsilon_greedy_with(noise, q, legal, epsilon)
        obs, log_state, reward, done, info = logged.step(env_key, carry.log_state, actions)
        seen = (
            carry.obs,
            legal,
            _global_state(networks, env, env_state, carry.obs),
            actions,
            reward,
            done,
            info["terminated"],
        )
        stats = episode_stats(info)
        final = (info["final_obs"], info["final_state"])
        return _Carry(obs, log_state, memory, done, *final), (seen, stats)

    last, (seen, stats) = jax.lax.scan(_step, start, keys)
    obs_seq, legal_seq, state_seq, actions, reward, done, terminated = seen
    final_legal = _legal(env, last.final_state)
    final_state = _global_state(networks, env, last.final_state, last.final_obs)
    chunks = Chunk(
        obs=jnp.concatenate([obs_seq, last.final_obs[None]]),
        legal=jnp.concatenate([legal_seq, final_legal[None]]),
        state=jnp.concatenate([state_seq, final_state[None]]),
        actions=actions,
        reward=reward,
        done=done,
        terminated=terminated,
    )
    return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), chunks), stats
