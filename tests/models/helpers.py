"""Tiny model settings shared by the model tests (few distinct shapes keep compiles cheap)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

from marlax.models import RecurrentModel, make_model

NUM_ACTIONS = 4
OBS_DIM = 5
TINY_CORES = {
    "mlp": {"hidden_sizes": (8,)},
    "gru": {"hidden_size": 8},
    "transformer": {"d_model": 8, "num_heads": 2, "num_layers": 2, "context_length": 3},
    "ssm": {"d_model": 8, "num_layers": 2, "state_size": 4, "expand": 1},
    "s5": {"d_model": 8, "num_layers": 2, "state_size": 8},
}
MODEL_NAMES = tuple(TINY_CORES)
MEMORY_NAMES = ("gru", "transformer", "ssm", "s5")


def tiny_model(name: str, **overrides) -> RecurrentModel:
    """A vector-observation model with 4 logits and 8 hidden units."""
    settings = {**TINY_CORES[name], **overrides}
    return make_model(
        name, num_actions=NUM_ACTIONS, encoder_settings={"hidden_sizes": (8,)}, **settings
    )


class Compiled(NamedTuple):
    """A tiny model with jitted step and sequence functions (compiled once per shape)."""

    model: RecurrentModel
    init: Callable
    step: Callable
    sequence: Callable
    params: dict
    """Initialised from `jax.random.key(0)` on a `[B=2, N=3]` batch."""


@functools.cache
def compiled(name: str) -> Compiled:
    """The tiny model `name` with `jax.jit` init, step and sequence (cached across tests)."""
    model = tiny_model(name)
    step = jax.jit(model.apply)
    sequence = jax.jit(functools.partial(model.apply, method="sequence"))
    init = jax.jit(model.init)
    carry = model.initialize_carry((2, 3))
    params = init(jax.random.key(0), carry, jnp.zeros((2, 3, OBS_DIM)), jnp.zeros((2, 3), bool))
    return Compiled(model, init, step, sequence, params)


def unroll(step: Callable, params, carry, obs_seq: jax.Array, reset_seq: jax.Array):
    """T single steps in a Python loop: (carry, (logits f32[T, ..., A], value f32[T, ...]))."""
    logits, values = [], []
    for index in range(obs_seq.shape[0]):
        carry, (step_logits, step_value) = step(params, carry, obs_seq[index], reset_seq[index])
        logits.append(step_logits)
        values.append(step_value)
    return carry, (jnp.stack(logits), jnp.stack(values))
