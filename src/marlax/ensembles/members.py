"""Train K members as one program: hyperparameters and data weights on a vmap axis.

Like the PPO seed axis, every leaf of the returned parameters leads with K. Member k gets
its own init key (`jax.random.split(key, K)[k]`), its own AdamW hyperparameters
(`hyper[name][k]`) and its own per-sample weights (`sample_weights[k]`: bootstrap counts,
a 0/1 data subset, or ones). Training is full-batch AdamW for `steps` steps in one
`lax.scan`, so `fit_members` is exactly `fit_member` vmapped over the member axis.

Models of different shapes cannot share a vmap axis: `fit_member_list` trains a Python
list of them one after another, each with its own hyperparameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from marlax.validate import (
    require,
    require_choice,
    require_number,
    require_positive_int,
)

HYPERPARAMETERS = ("learning_rate", "weight_decay", "b1", "b2")
"""AdamW settings that may vary per member."""

LOSSES = ("cross_entropy", "squared_error")
"""cross_entropy: logits f32[n, C] vs labels i32[n]; squared_error: f32[n, ...] vs targets."""

DEFAULT_HYPER = {"learning_rate": 1e-2, "weight_decay": 1e-4, "b1": 0.9, "b2": 0.999}


def _per_sample_loss(outputs: jax.Array, targets: jax.Array, loss: str) -> jax.Array:
    """f32[n] loss of each sample."""
    if loss == "cross_entropy":
        return optax.softmax_cross_entropy_with_integer_labels(outputs, targets)
    squared = (outputs - targets) ** 2
    return jnp.mean(squared.reshape(squared.shape[0], -1), axis=1)


def weighted_loss(
    params: Any,
    model: nn.Module,
    inputs: jax.Array,
    targets: jax.Array,
    sample_weights: jax.Array,
    loss: str,
) -> jax.Array:
    """sum_i w_i loss_i / sum_i w_i: the member's data weights as a weighted mean.

    Args:
        inputs: f32[n, ...]. targets: i32[n] or f32[n, ...]. sample_weights: f32[n] >= 0.
    """
    per_sample = _per_sample_loss(model.apply(params, inputs), targets, loss)
    return jnp.sum(per_sample * sample_weights) / jnp.sum(sample_weights)


def fit_member(
    model: nn.Module,
    key: jax.Array,
    inputs: jax.Array,
    targets: jax.Array,
    hyper: Mapping[str, jax.Array],
    sample_weights: jax.Array,
    steps: int,
    loss: str = "cross_entropy",
) -> tuple[Any, jax.Array]:
    """Init with `key` and train one member full-batch with AdamW.

    Args:
        hyper: name -> f32[] for names in HYPERPARAMETERS (missing ones: DEFAULT_HYPER).
        sample_weights: f32[n].

    Returns:
        (params, loss_curve f32[steps]) the trained variables and the loss before each step.
    """
    settings = {**DEFAULT_HYPER, **hyper}
    params = model.init(key, inputs[:1])
    optimizer = optax.adamw(**settings)

    def _step(carry, _):
        """Carries (params, opt_state); stacks the loss before the step."""
        params, opt_state = carry
        value, grads = jax.value_and_grad(weighted_loss)(
            params, model, inputs, targets, sample_weights, loss
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), value

    (params, _), curve = jax.lax.scan(_step, (params, optimizer.init(params)), length=steps)
    return params, curve


def _member_count(hyper: Mapping[str, jax.Array], sample_weights: jax.Array | None) -> int:
    sizes = {jnp.shape(value)[0] for value in hyper.values() if jnp.ndim(value) == 1}
    if sample_weights is not None:
        sizes.add(jnp.shape(sample_weights)[0])
    require(len(sizes) == 1, "hyper/sample_weights", sorted(sizes), "one shared member count K")
    return sizes.pop()


@partial(jax.jit, static_argnames=("model", "steps", "loss"))
def _fit_members_jit(model, keys, inputs, targets, hyper, sample_weights, steps, loss):
    one = partial(fit_member, model, steps=steps, loss=loss)
    return jax.vmap(one, in_axes=(0, None, None, 0, 0))(
        keys, inputs, targets, hyper, sample_weights
    )


def fit_members(
    model: nn.Module,
    key: jax.Array,
    inputs: jax.Array,
    targets: jax.Array,
    hyper: Mapping[str, jax.Array],
    sample_weights: jax.Array | None = None,
    steps: int = 200,
    loss: str = "cross_entropy",
) -> tuple[Any, jax.Array]:
    """K members of one architecture trained in one jitted vmap.

    Args:
        model: the member module (hashable flax module; static under jit).
        key: split into K init keys.
        inputs: f32[n, ...]; targets: i32[n] (cross_entropy) or f32[n, ...].
        hyper: name -> f32[K] for names in HYPERPARAMETERS.
        sample_weights: f32[K, n] per-member data weights, or None for all ones.
        steps: full-batch AdamW steps.
        loss: one of LOSSES.

    Returns:
        (params with every leaf f32[K, ...], loss curves f32[K, steps]).
    """
    require_choice("loss", loss, LOSSES)
    steps = require_positive_int("steps", steps)
    for name, value in hyper.items():
        require_choice("hyper", name, HYPERPARAMETERS)
        require(jnp.ndim(value) == 1, f"hyper.{name}", jnp.shape(value), "shape (K,)")
    num_members = _member_count(hyper, sample_weights)
    if sample_weights is None:
        sample_weights = jnp.ones((num_members, inputs.shape[0]), jnp.float32)
    require(
        jnp.shape(sample_weights) == (num_members, inputs.shape[0]),
        "sample_weights",
        jnp.shape(sample_weights),
        f"shape ({num_members}, {inputs.shape[0]})",
    )
    hyper = {name: jnp.asarray(value, jnp.float32) for name, value in hyper.items()}
    keys = jax.random.split(key, num_members)
    return _fit_members_jit(model, keys, inputs, targets, hyper, sample_weights, steps, loss)


def fit_member_list(
    models: Sequence[nn.Module],
    key: jax.Array,
    inputs: jax.Array,
    targets: jax.Array,
    hypers: Sequence[Mapping[str, float]],
    sample_weights: jax.Array | None = None,
    steps: int = 200,
    loss: str = "cross_entropy",
) -> list[Any]:
    """Members of different shapes: a Python loop, member k with key split(key, K)[k].

    Args:
        models: K modules (any shapes; their outputs are combined later by a rule).
        hypers: K dicts name -> float. sample_weights: f32[K, n] or None.

    Returns:
        K parameter trees, in the order of `models`.
    """
    require(len(models) == len(hypers), "hypers", len(hypers), f"{len(models)} dicts")
    require_choice("loss", loss, LOSSES)
    keys = jax.random.split(key, len(models))
    trained = []
    for index, (model, hyper) in enumerate(zip(models, hypers, strict=True)):
        weights = (
            jnp.ones((inputs.shape[0],), jnp.float32)
            if sample_weights is None
            else sample_weights[index]
        )
        settings = {name: jnp.float32(value) for name, value in hyper.items()}
        fit = jax.jit(partial(fit_member, model, steps=steps, loss=loss))
        trained.append(fit(keys[index], inputs, targets, settings, weights)[0])
    return trained


def bootstrap_weights(key: jax.Array, num_members: int, num_samples: int) -> jax.Array:
    """f32[K, n] bootstrap counts: member k draws n samples with replacement (bagging)."""

    def _one(member_key: jax.Array) -> jax.Array:
        draws = jax.random.randint(member_key, (num_samples,), 0, num_samples)
        return jnp.bincount(draws, length=num_samples).astype(jnp.float32)

    return jax.vmap(_one)(jax.random.split(key, num_members))


def subset_weights(
    key: jax.Array, num_members: int, num_samples: int, fraction: float
) -> jax.Array:
    """f32[K, n] 0/1 weights: member k keeps a random ceil(fraction * n) samples.

    A fixed subset size (at least 1) keeps every member's weighted loss well defined.
    """
    require_number("fraction", fraction, 0.0, 1.0, open_low=True)
    kept = max(1, math.ceil(fraction * num_samples))

    def _one(member_key: jax.Array) -> jax.Array:
        chosen = jax.random.choice(member_key, num_samples, (kept,), replace=False)
        return jnp.zeros((num_samples,), jnp.float32).at[chosen].set(1.0)

    return jax.vmap(_one)(jax.random.split(key, num_members))
