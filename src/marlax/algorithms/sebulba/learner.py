"""The learner's half: the actors' rollouts joined into one batch, then PPO's own GAE and epochs.

    batch = join_rollouts(actors.take())                           # [T, B, N, ...] on the host
    state, losses = learn_step(networks, optimizer, ppo, state, batch)   # jitted by the trainer

Nothing here is a second PPO: `advantages_and_targets`, `make_batch` and `learn` are PPO's
(`marlax.algorithms.ppo.learn`). The alive mask [T, B, N] is PPO's agent mask (`make_batch`'s
`agent_valid`, which broadcasts to [T, B, N]): a step of a dead or absent agent weighs 0 in
every loss term, as a padded agent does in a multi-task batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from marlax.algorithms.ppo.learn import LossMetrics, advantages_and_targets, learn, make_batch
from marlax.algorithms.ppo.networks import Networks
from marlax.algorithms.ppo.types import Transition
from marlax.algorithms.sebulba.rollout_worker import Rollout
from marlax.config.schema import PPOConfig


@struct.dataclass
class SebulbaState:
    """The learner's state; every leaf leads with the seed axis S (= 1: one run per seed)."""

    params: Any  # {"actor": ..., "critic": ...}, PPO's networks
    opt_state: Any
    key: jax.Array  # key[S]
    update: jax.Array  # i32[S] updates done: the version of `params`


class JointBatch(NamedTuple):
    """Every actor's rollout of one update, joined on the env axis (B = sum of B_a)."""

    transition: Transition  # [T, B, N, ...]
    alive: np.ndarray  # bool[T, B, N]
    last_value: np.ndarray  # f32[B, N]
    carries: Any  # [B, N, ...] memory before the first step
    finished: np.ndarray  # bool[T, B]
    episode_return: np.ndarray  # f32[T, B]
    episode_length: np.ndarray  # i32[T, B]


def join_rollouts(rollouts: Sequence[Rollout]) -> JointBatch:
    """The rollouts of one update (in actor order) as one batch: env axis 1 for [T, B_a, ...]
    fields, axis 0 for [B_a, ...] ones."""

    def _join(axis: int, *leaves: Any) -> Any:
        return np.concatenate([np.asarray(leaf) for leaf in leaves], axis=axis)

    def _time_major(*trees: Any) -> Any:
        return jax.tree.map(lambda *leaves: _join(1, *leaves), *trees)

    def _env_major(*trees: Any) -> Any:
        return jax.tree.map(lambda *leaves: _join(0, *leaves), *trees)

    return JointBatch(
        transition=_time_major(*[r.transition for r in rollouts]),
        alive=_time_major(*[r.alive for r in rollouts]),
        last_value=_env_major(*[r.last_value for r in rollouts]),
        carries=_env_major(*[r.carries for r in rollouts]),
        finished=_time_major(*[r.finished for r in rollouts]),
        episode_return=_time_major(*[r.episode_return for r in rollouts]),
        episode_length=_time_major(*[r.episode_length for r in rollouts]),
    )


def learn_step(
    networks: Networks,
    optimizer: optax.GradientTransformation,
    ppo: PPOConfig,
    state: SebulbaState,
    batch: JointBatch,
) -> tuple[SebulbaState, LossMetrics]:
    """GAE, then PPO's epochs on one joint batch, for the one seed of `state`.

    Returns:
        (the state after the update, the losses: f32[] means over the minibatch steps).
    """
    params, opt_state, key = jax.tree.map(
        lambda leaf: leaf[0], (state.params, state.opt_state, state.key)
    )
    key, learn_key = jax.random.split(key)
    transition = batch.transition
    advantages, targets = advantages_and_targets(
        transition, jnp.asarray(batch.last_value), ppo.gamma, ppo.gae_lambda
    )
    actor_carry, critic_carry = batch.carries
    learning = make_batch(
        networks, transition, advantages, targets, batch.alive, actor_carry, critic_carry
    )
    params, opt_state, losses = learn(
        learn_key, networks, optimizer, params, opt_state, learning, ppo
    )
    seeds = jax.tree.map(lambda leaf: leaf[None], (params, opt_state, key))
    return SebulbaState(*seeds, state.update + 1), losses


def episode_metrics(batch: JointBatch) -> dict[str, float]:
    """Mean return and length of the episodes that ended in the batch (NaN when none did)."""
    finished = batch.finished
    count = int(finished.sum())
    if count == 0:
        return {"return": float("nan"), "length": float("nan"), "episodes": 0.0}
    return {
        "return": float(batch.episode_return[finished].mean()),
        "length": float(batch.episode_length[finished].mean()),
        "episodes": float(count),
    }
