"""Random (or policy) rollouts scanned in one jit, rendered in a vmap, for videos and returns.

Episodes restart through `AutoReset`, the one auto-reset path of marlax; its
`info["final_state"]` keeps the last state of every episode in the trajectory.

    trajectory = jitted_rollout(key, env=env, num_steps=200)
    for chunk in render_frames(env, trajectory.states):   # u8[C, H, W, 3] per chunk
        ...

`record_episode` does both and returns every frame at once. A policy with memory (a trained
recurrent network) goes in as `memory_policy=`, a traced argument, so its parameters are not
baked into the program.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from marlax.algorithms.common.policy import MemoryPolicy, Policy, StatelessPolicy
from marlax.envs.base import Env
from marlax.envs.wrappers.autoreset import AutoReset
from marlax.play.policy import random_policy


@struct.dataclass
class Trajectory:
    """A rollout of T steps that resets the env whenever an episode ends."""

    states: Any  # env State with a leading [T + 1] axis: the reset state, then each step's state
    # (the state an episode ended in is kept; the next step starts from a fresh reset)
    actions: jax.Array  # i32[T, N] or f32[T, N, A] the actions taken
    reward: jax.Array  # f32[T, N]
    done: jax.Array  # bool[T] an episode ended at this step


@struct.dataclass
class _Carry:
    """Scan carry of `rollout`: what the next step starts from."""

    obs: jax.Array  # [N, ...]
    state: Any  # env State
    memory: Any  # the policy's memory after the last step
    reset: jax.Array  # bool[] the next step starts an episode


class EpisodeReturn(NamedTuple):
    """Return of one episode (or of the unfinished tail of a rollout)."""

    returns: np.ndarray  # f32[N] summed reward per agent
    length: int  # steps in the episode
    finished: bool  # False for the tail that the rollout cut off


def rollout(
    key: jax.Array,
    env: Env,
    num_steps: int,
    policy: Policy | None = None,
    memory_policy: MemoryPolicy | None = None,
) -> Trajectory:
    """Play `num_steps` steps from a reset, resetting after every finished episode.

    Args:
        key: PRNG key.
        env: the environment (static under jit).
        num_steps: T >= 1 (static).
        policy: `policy(key, obs, state) -> actions` (static); None plays uniform legal actions.
        memory_policy: a `MemoryPolicy` (traced), used instead of `policy`; its memory is
            carried from step to step and told `reset` at every episode start.

    Returns:
        The `Trajectory` (states [T + 1], actions [T, N, ...], reward f32[T, N], done bool[T]).
    """
    if memory_policy is None:
        memory_policy = StatelessPolicy(random_policy(env) if policy is None else policy)
    elif policy is not None:
        raise ValueError("pass either policy or memory_policy, not both")
    auto_reset = AutoReset(env)
    reset_key, loop_key = jax.random.split(key)
    obs, state = auto_reset.reset(reset_key)

    def _body(
        carry: _Carry, step_key: jax.Array
    ) -> tuple[_Carry, tuple[Any, jax.Array, jax.Array, jax.Array]]:
        """Carries the obs/state/memory to act on; stacks the state each step ended in (before
        any reset, so an episode's last frame is kept), the actions, reward and done."""
        policy_key, env_key = jax.random.split(step_key)
        actions, memory = memory_policy.act(
            policy_key, carry.obs, carry.state, carry.memory, carry.reset
        )
        obs, state, reward, done, info = auto_reset.step(env_key, carry.state, actions)
        return _Carry(obs, state, memory, done), (info["final_state"], actions, reward, done)

    start = _Carry(obs, state, memory_policy.initial_memory(), jnp.ones((), bool))
    _, (states, actions, reward, done) = jax.lax.scan(
        _body, start, jax.random.split(loop_key, num_steps)
    )
    states = jax.tree.map(lambda first, rest: jnp.concatenate([first[None], rest]), state, states)
    return Trajectory(states=states, actions=actions, reward=reward, done=done)


jitted_rollout = jax.jit(rollout, static_argnames=("env", "num_steps", "policy"))
"""`rollout` compiled once per (env, num_steps, policy) and kind of `memory_policy`: pass
them by keyword."""


def render_frames(
    env: Env, states: Any, chunk_size: int = 16, num_frames: int | None = None
) -> Iterator[np.ndarray]:
    """Render stacked states chunk by chunk with one jitted `vmap(env.render)`.

    Every chunk has the same traced shape (the last is padded, then cut), so this
    compiles once; memory stays at one chunk of pictures on the device.

    Args:
        states: env State with a leading [T] axis.
        chunk_size: frames rendered per call.
        num_frames: render only the first this many states (None = all T); cheaper than
            slicing `states`, whose new length would compile the renderer again.

    Yields:
        u8[C, H, W, 3] chunks, C <= chunk_size, `num_frames` (or T) frames in all.
    """
    length = int(jax.tree.leaves(states)[0].shape[0])
    total = length if num_frames is None else max(1, min(num_frames, length))
    chunk_size = max(1, min(chunk_size, length))  # from T, so the traced shape stays the same
    for start in range(0, total, chunk_size):
        indices = np.minimum(np.arange(start, start + chunk_size), total - 1)
        yield np.asarray(_jitted_render_indices(env, states, jnp.asarray(indices)))[: total - start]


def _render_indices(env: Env, states: Any, indices: jax.Array) -> jax.Array:
    """u8[C, H, W, 3] pictures of `states[indices]` (indices i32[C])."""
    picked = jax.tree.map(lambda leaf: leaf[indices], states)
    return jax.vmap(env.render)(picked)


_jitted_render_indices = jax.jit(_render_indices, static_argnums=0)


def episode_returns(reward: np.ndarray, done: np.ndarray) -> list[EpisodeReturn]:
    """Split a rollout's rewards at its episode ends.

    Args:
        reward: f32[T, N]; done: bool[T].

    Returns:
        One `EpisodeReturn` per finished episode, then the unfinished tail if it has steps.
    """
    reward, done = np.asarray(reward), np.asarray(done)
    episodes: list[EpisodeReturn] = []
    start = 0
    for end in np.flatnonzero(done):
        episodes.append(
            EpisodeReturn(reward[start : end + 1].sum(axis=0), int(end + 1 - start), True)
        )
        start = int(end) + 1
    if start < len(done):
        episodes.append(EpisodeReturn(reward[start:].sum(axis=0), len(done) - start, False))
    return episodes


def steps_for_episodes(done: np.ndarray, num_episodes: int) -> int:
    """How many steps of a rollout cover its first `num_episodes` episodes.

    Args:
        done: bool[T] episode ends; num_episodes: >= 1.

    Returns:
        The step count up to and including the `num_episodes`-th end, or T if fewer end.
    """
    ends = np.flatnonzero(np.asarray(done))
    return int(ends[num_episodes - 1]) + 1 if len(ends) >= num_episodes else len(done)


def record_episode(
    env: Env,
    key: jax.Array,
    num_steps: int,
    policy: Policy | None = None,
    memory_policy: MemoryPolicy | None = None,
) -> np.ndarray:
    """Frames of a `rollout`: u8[num_steps + 1, H, W, 3] (reset frame first)."""
    trajectory = jitted_rollout(
        key, env=env, num_steps=num_steps, policy=policy, memory_policy=memory_policy
    )
    return np.concatenate(list(render_frames(env, trajectory.states)))
