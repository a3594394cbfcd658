"""Train K decoder members of one shape as one program: the member axis is a vmap axis.

Each member has its own key (initialisation, batches, dropout), learning rate, dropout rate
and data stream (e.g. a bootstrap over documents, `corpus.bootstrap_stream`). Member k's
trajectory depends only on its own inputs, so training it inside a group of K equals
training it alone (up to float reassociation in batched matmuls).

Optimiser: Adam after global-norm clipping, step size lr_k * schedule(step), with a linear
warm-up then a cosine decay to `final_lr_fraction` (the usual small-GPT recipe).

    state = init_members(keys, decoder_config, train_config)
    state = train_members(state, streams, learning_rates, dropout_rates, decoder_config,
                          train_config)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from marlax.language.model import CausalDecoder, DecoderConfig, token_log_likelihood
from marlax.validate import require, require_fraction, require_positive, require_positive_int


@dataclass(frozen=True)
class TrainConfig:
    """How every member of a group trains (per-member settings are arrays, see train_members)."""

    batch_size: int = 32
    """Windows per step and member."""
    num_steps: int = 600
    """Optimiser steps per member."""
    warmup_steps: int = 50
    """Steps of linear learning-rate warm-up."""
    final_lr_fraction: float = 0.1
    """The cosine decay ends at this fraction of the member's learning rate."""
    clip_norm: float = 1.0
    """Global gradient-norm clip."""
    chunk_steps: int = 50
    """Steps per jitted call (the progress bar moves once per chunk)."""

    def __post_init__(self) -> None:
        for field in ("batch_size", "num_steps", "warmup_steps", "chunk_steps"):
            require_positive_int(f"train.{field}", getattr(self, field))
        require_fraction("train.final_lr_fraction", self.final_lr_fraction)
        require_positive("train.clip_norm", self.clip_norm)


@struct.dataclass
class MembersState:
    """K members' training state; every leaf leads with the member axis K."""

    params: Any  # flax params, leaves f32[K, ...]
    opt_state: Any  # optax state, leaves [K, ...]
    key: jax.Array  # key[K]
    step: jax.Array  # i32[K]


def _optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Clip then Adam; the per-member step size is applied outside (it is traced)."""
    return optax.chain(optax.clip_by_global_norm(config.clip_norm), optax.scale_by_adam())


def lr_schedule(step: jax.Array, config: TrainConfig) -> jax.Array:
    """f32[] multiplier of the learning rate: linear warm-up, then cosine to the final fraction."""
    step = step.astype(jnp.float32)
    warmup = jnp.minimum(1.0, (step + 1.0) / config.warmup_steps)
    decay_steps = max(config.num_steps - config.warmup_steps, 1)
    progress = jnp.clip((step - config.warmup_steps) / decay_steps, 0.0, 1.0)
    cosine = 0.5 * (1.0 + jnp.cos(math.pi * progress))
    floor = config.final_lr_fraction
    return warmup * (floor + (1.0 - floor) * cosine)


def init_members(
    keys: jax.Array, decoder_config: DecoderConfig, train_config: TrainConfig
) -> MembersState:
    """Fresh members, one per key: key[K] -> MembersState with leaves [K, ...]."""
    model = CausalDecoder(decoder_config)
    sample = jnp.zeros((1, decoder_config.context_length), jnp.int32)

    def init_one(key: jax.Array) -> MembersState:
        key, init_key = jax.random.split(key)
        params = model.init(init_key, sample)
        opt_state = _optimizer(train_config).init(params)
        return MembersState(params, opt_state, key, jnp.zeros((), jnp.int32))

    return jax.vmap(init_one)(keys)


def sample_windows(key: jax.Array, stream: jax.Array, batch_size: int, length: int) -> jax.Array:
    """Uniformly placed windows of a stream: (key, u8[L], B, T) -> i32[B, T + 1]."""
    starts = jax.random.randint(key, (batch_size,), 0, stream.shape[0] - length)
    window = partial(jax.lax.dynamic_slice_in_dim, stream, slice_size=length + 1)
    return jax.vmap(window)(starts).astype(jnp.int32)


def window_loss(
    params: Any,
    model: CausalDecoder,
    windows: jax.Array,
    dropout_rate: jax.Array | float = 0.0,
    dropout_key: jax.Array | None = None,
) -> jax.Array:
    """Mean next-token negative log-likelihood (nats) over windows i32[B, T + 1]."""
    logits = model.apply(params, windows[:, :-1], dropout_rate, dropout_key)
    return -jnp.mean(token_log_likelihood(logits, windows[:, 1:]))


def _member_step(
    state: MembersState,
    stream: jax.Array,
    learning_rate: jax.Array,
    dropout_rate: jax.Array,
    model: CausalDecoder,
    config: TrainConfig,
) -> tuple[MembersState, jax.Array]:
    """One optimiser step of ONE member (vmapped over K by `update`); returns its loss f32[]."""
    key, batch_key, dropout_key = jax.random.split(state.key, 3)
    windows = sample_windows(batch_key, stream, config.batch_size, model.config.context_length)
    loss, grads = jax.value_and_grad(window_loss)(
        state.params, model, windows, dropout_rate, dropout_key
    )
    direction, opt_state = _optimizer(config).update(grads, state.opt_state, state.params)
    step_size = learning_rate * lr_schedule(state.step, config)
    params = jax.tree.map(lambda p, d: p - step_size * d, state.params, direction)
    return MembersState(params, opt_state, key, state.step + 1), loss


@partial(jax.jit, static_argnames=("decoder_config", "train_config", "num_steps"))
def update(
    state: MembersState,
    streams: jax.Array,
    learning_rates: jax.Array,
    dropout_rates: jax.Array,
    decoder_config: DecoderConfig,
    train_config: TrainConfig,
    num_steps: int,
) -> tuple[MembersState, jax.Array]:
    """`num_steps` steps of every member.

    Args:
        state: MembersState, leaves [K, ...].
        streams: u8[K, L] each member's training tokens.
        learning_rates: f32[K] peak learning rates.
        dropout_rates: f32[K] in [0, 1).
        decoder_config, train_config: static.
        num_steps: static.

    Returns:
        (state, losses f32[num_steps, K] training losses in nats per token).
    """
    model = CausalDecoder(decoder_config)
    step_all = jax.vmap(partial(_member_step, model=model, config=train_config))

    def _body(carry: MembersState, _: None) -> tuple[MembersState, jax.Array]:
        """Carries the members' state; stacks each step's losses f32[K]."""
        return step_all(carry, streams, learning_rates, dropout_rates)

    return jax.lax.scan(_body, state, None, length=num_steps)


def _check_members(
    state: MembersState, streams: Any, learning_rates: Any, dropout_rates: Any
) -> None:
    """One stream, learning rate and dropout rate in [0, 1) per member; eager, outside jit."""
    num_members = state.key.shape[0]
    for field, values in (("learning_rates", learning_rates), ("dropout_rates", dropout_rates)):
        require(np.shape(values) == (num_members,), field, np.shape(values), "one per member")
    require(
        np.ndim(streams) == 2 and np.shape(streams)[0] == num_members,
        "streams",
        np.shape(streams),
        f"[{num_members}, L]: one stream per member",
    )
    require(
        bool(np.all((np.asarray(dropout_rates) >= 0) & (np.asarray(dropout_rates) < 1))),
        "dropout_rates",
        dropout_rates,
        "rates in [0, 1)",
    )


def train_members(
    state: MembersState,
    streams: jax.Array,
    learning_rates: jax.Array,
    dropout_rates: jax.Array,
    decoder_config: DecoderConfig,
    train_config: TrainConfig,
    description: str = "members",
) -> tuple[MembersState, jax.Array]:
    """Train K members to `train_config.num_steps`, showing a progress bar.

    Returns:
        (state, losses f32[num_steps, K]).
    """
    _check_members(state, streams, learning_rates, dropout_rates)
    learning_rates = jnp.asarray(learning_rates, jnp.float32)
    dropout_rates = jnp.asarray(dropout_rates, jnp.float32)
    streams = jnp.asarray(streams)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    losses, done = [], 0
    with Progress(*columns, TimeElapsedColumn(), transient=True) as progress:
        task = progress.add_task(description, total=train_config.num_steps)
        while done < train_config.num_steps:
            steps = min(train_config.chunk_steps, train_config.num_steps - done)
            state, chunk_losses = update(
                state, streams, learning_rates, dropout_rates, decoder_config, train_config, steps
            )
            losses.append(jax.block_until_ready(chunk_losses))
            done += steps
            progress.update(task, completed=done)
    return state, jnp.concatenate(losses)
