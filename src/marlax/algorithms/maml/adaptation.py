"""Test-time adaptation of a MAML policy: the return before and after each inner step.

    trained = load_maml_run(Path("runs"), "bold-otter-07")      # marlax.algorithms.maml.policy
    task = trained.env.sample_task(jax.random.key(7))            # a held-out task
    curve = adaptation_returns(key, trained.actor_params(0), trained.inner, task, num_steps=3)
    curve = run_adaptation_returns(key, trained, task, num_steps=3, seed_index=0,
                                   inner_lr=None, trajectories=None)   # None = as trained

`adaptation_returns(key, actor_params, inner, task, num_steps) -> f32[num_steps + 1]`: entry 0
is the mean return of K episodes of `task` sampled by the unadapted policy; entry i the mean
return of K fresh episodes after i inner policy-gradient steps, each step on the K episodes
of the step before: the very update of training (`meta.collect`, same baseline, advantages
and step size `inner.inner_lr`), so a curve at training's K and inner_lr measures what was
meta-trained. Returns are of sampled actions (the policy explores), as in the paper.
"""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import TYPE_CHECKING, Any

import jax

from marlax.algorithms.maml.meta import InnerLoop, collect, stage_returns
from marlax.validate import require_int, require_nonnegative_int, require_positive

if TYPE_CHECKING:
    from marlax.algorithms.maml.policy import TrainedMAMLRun


def adaptation_returns(
    key: jax.Array, actor_params: Any, inner: InnerLoop, task: Any, num_steps: int
) -> jax.Array:
    """f32[num_steps + 1]: mean episode return on `task` after 0, 1, ..., num_steps steps.

    Args:
        key: the episodes' key.
        actor_params: the meta-learned parameters theta (no seed axis).
        inner: the inner loop (sampler with its K, inner_lr, baseline, ...).
        task: a task of the family (`inner.sampler.env.sample_task(key)`).
        num_steps: inner steps to take (>= 0; need not equal the trained `inner_steps`).
    """
    num_steps = require_nonnegative_int("num_steps", num_steps)
    stepped = dataclasses.replace(inner, inner_steps=num_steps)
    return _adaptation_curve(key, actor_params, task, inner=stepped)


@partial(jax.jit, static_argnames=("inner",))
def _adaptation_curve(key: jax.Array, actor_params: Any, task: Any, inner: InnerLoop) -> jax.Array:
    """f32[inner.inner_steps + 1]: `adaptation_returns` compiled once per inner loop (a frozen,
    hashable dataclass) and per shapes of the parameters and task."""
    return stage_returns(collect(key, actor_params, task, inner))


def run_adaptation_returns(
    key: jax.Array,
    trained: TrainedMAMLRun,
    task: Any,
    num_steps: int,
    *,
    seed_index: int = 0,
    inner_lr: float | None = None,
    trajectories: int | None = None,
) -> jax.Array:
    """`adaptation_returns` of a loaded run's seed, with K and the step size as trained
    unless given."""
    inner = trained.inner
    if inner_lr is not None:
        inner = dataclasses.replace(inner, inner_lr=require_positive("inner_lr", inner_lr))
    if trajectories is not None:
        count = require_int("trajectories", trajectories, 1)
        inner = dataclasses.replace(
            inner, sampler=dataclasses.replace(inner.sampler, trajectories=count)
        )
    return adaptation_returns(key, trained.actor_params(seed_index), inner, task, num_steps)


def batched_adaptation_returns(
    key: jax.Array, actor_params: Any, inner: InnerLoop, tasks: Any, num_steps: int
) -> jax.Array:
    """`adaptation_returns` on M tasks side by side (tasks' leaves [M, ...], keys split from
    `key`): f32[M, num_steps + 1]."""
    num_tasks = jax.tree.leaves(tasks)[0].shape[0]
    keys = jax.random.split(key, num_tasks)

    def _task_curve(task_key: jax.Array, task: Any) -> jax.Array:
        return adaptation_returns(task_key, actor_params, inner, task, num_steps)

    return jax.vmap(_task_curve)(keys, tasks)
