"""One PPO update of one seed: rollout, advantages, epochs; plus the numbers it reports."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from marlax.algorithms.common import optimizers
from marlax.algorithms.ppo.learn import Batch, learn, rollout_batch
from marlax.algorithms.ppo.networks import Networks
from marlax.algorithms.ppo.rollout import rollout
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.types import (
    EpisodeStats,
    HyperparamOverrides,
    RunnerState,
    TrainState,
)
from marlax.config.schema import OptimizerConfig, PPOConfig


def make_optimizer(
    ppo: PPOConfig,
    optimizer: OptimizerConfig,
    num_updates: int,
    learning_rate_scale: jax.Array | None = None,
) -> optax.GradientTransformation:
    """`optimizer` (Adam or Muon) after clipping the global norm to `ppo.max_grad_norm`; the
    learning rate falls linearly to 0 over the run when `ppo.anneal_lr` (per update, as in
    PureJaxRL/JaxMARL).

    Args:
        learning_rate_scale: f32[] (traced) multiplying `ppo.learning_rate` and its schedule,
            for one member of a population (PBT builds this inside its jitted update); None
            for plain PPO. The optimiser's state has the same structure either way, and a
            scale of exactly 1 gives exactly plain PPO's steps: the scale enters the
            learning rate itself, not the finished step, so the step is computed as before.
    """
    steps_per_update = ppo.num_epochs * ppo.num_minibatches
    scale = 1.0 if learning_rate_scale is None else learning_rate_scale

    def _annealed(count: jax.Array) -> jax.Array:
        done_fraction = (count // steps_per_update) / num_updates
        rate = ppo.learning_rate * (1.0 - done_fraction)
        return rate if learning_rate_scale is None else rate * scale

    constant = ppo.learning_rate if learning_rate_scale is None else ppo.learning_rate * scale
    learning_rate = _annealed if ppo.anneal_lr else constant
    return optimizers.make_optimizer(optimizer, learning_rate, ppo.max_grad_norm)


def task_labels(layout: TaskLayout) -> tuple[str, ...]:
    """Metric names of the tasks: the env name, numbered where one env appears twice."""
    names = [task.name for task in layout.tasks]
    return tuple(
        name if names.count(name) == 1 else f"{name}.{names[:i].count(name)}"
        for i, name in enumerate(names)
    )


def episode_metrics(layout: TaskLayout, stats: EpisodeStats) -> dict[str, jax.Array]:
    """Mean return and length of the episodes that ended during a rollout, per task.

    Args:
        stats: [T, B_total] from `rollout`.

    Returns:
        `return/<task>`, `length/<task>`, `episodes/<task>` (f32[] each; NaN where no episode
        ended), and `return`, the mean over tasks that finished any.
    """
    metrics = {}
    per_task = []
    for label, task, offset in zip(
        task_labels(layout), layout.tasks, layout.env_offsets, strict=True
    ):
        window = slice(offset, offset + task.num_envs)
        finished = stats.finished[:, window].astype(jnp.float32)
        count = finished.sum()
        safe = jnp.maximum(count, 1.0)
        mean_return = (stats.episode_return[:, window] * finished).sum() / safe
        mean_length = (stats.episode_length[:, window] * finished).sum() / safe
        metrics[f"return/{label}"] = jnp.where(count > 0, mean_return, jnp.nan)
        metrics[f"length/{label}"] = jnp.where(count > 0, mean_length, jnp.nan)
        metrics[f"episodes/{label}"] = count
        per_task.append(metrics[f"return/{label}"])
    metrics["return"] = jnp.nanmean(jnp.stack(per_task))
    return metrics


class Collected(NamedTuple):
    """What one update's rollout gathered for learning (one seed)."""

    runner: RunnerState
    """Where the next rollout continues."""
    batch: Batch
    """The learning batch: transitions, advantages, targets, memory at the rollout start."""
    stats: EpisodeStats
    """[T, B_total] the episodes that ended during the rollout."""
    learn_key: jax.Array
    """key[]: the epochs' minibatch shuffles."""
    next_key: jax.Array
    """key[]: the seed's key for the next update."""


def collect(state: TrainState, layout: TaskLayout, networks: Networks, ppo: PPOConfig) -> Collected:
    """Collect `ppo.rollout_length` steps and compute GAE: the acting half of an update."""
    next_key, rollout_key, learn_key = jax.random.split(state.key, 3)
    start = state.runner
    runner, transitions, stats, last_value = rollout(
        rollout_key,
        layout,
        networks,
        state.params,
        start,
        ppo.rollout_length,
        ppo.bootstrap_truncation,
    )
    batch = rollout_batch(networks, layout.agent_valid, transitions, last_value, start, ppo)
    return Collected(runner, batch, stats, learn_key, next_key)


def improve(
    state: TrainState,
    collected: Collected,
    layout: TaskLayout,
    networks: Networks,
    optimizer: optax.GradientTransformation,
    ppo: PPOConfig,
    overrides: HyperparamOverrides | None = None,
) -> tuple[TrainState, dict[str, jax.Array]]:
    """Run the epochs on a collected batch: the learning half of an update.

    Args:
        overrides: per-member hyperparameters (population-based training), or None for
            the config's (`learn`).

    Returns:
        (the next TrainState, metrics: f32[] each, see `episode_metrics` and `loss/*`).
    """
    params, opt_state, losses = learn(
        collected.learn_key,
        networks,
        optimizer,
        state.params,
        state.opt_state,
        collected.batch,
        ppo,
        overrides,
    )
    metrics = episode_metrics(layout, collected.stats)
    metrics.update({f"loss/{name}": value for name, value in losses._asdict().items()})
    next_state = TrainState(
        params, opt_state, collected.runner, collected.next_key, state.update + 1
    )
    return next_state, metrics


def ppo_update(
    state: TrainState,
    layout: TaskLayout,
    networks: Networks,
    optimizer: optax.GradientTransformation,
    ppo: PPOConfig,
) -> tuple[TrainState, dict[str, jax.Array]]:
    """One whole update of one seed: `collect`, then `improve`.

    Returns:
        (the next TrainState, metrics: f32[] each, see `episode_metrics` and `loss/*`).
    """
    collected = collect(state, layout, networks, ppo)
    return improve(state, collected, layout, networks, optimizer, ppo)
