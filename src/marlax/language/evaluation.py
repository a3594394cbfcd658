"""Held-out perplexity of members and of their ensembles.

Text is cut into non-overlapping windows of T + 1 tokens (consecutive windows share one
token), so every token after a window's first is predicted once, from the earlier tokens of
its window. Members may have different shapes: they come as groups, each a decoder config
with its members' stacked parameters, and their log-probabilities meet on one member axis K.

An ensemble's predictive distribution is the weighted mean of the members' probabilities,
p(c) = sum_k w_k p_k(c) (`marlax.ensembles.rules.mixture_log_probs`); its perplexity is
exp(-mean_t log p(x_t)). Uniform weights give the averaged ensemble; weights from
`bma_weights(validation log-likelihood, temperature)` give Bayesian model averaging.
"""

from __future__ import annotations

from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.ensembles.rules import mixture_log_probs
from marlax.language.model import CausalDecoder, DecoderConfig
from marlax.validate import require, require_positive_int


class MemberGroup(NamedTuple):
    """Members of one shape: a decoder config and parameters with leaves f32[K_g, ...]."""

    config: DecoderConfig
    params: Any


def eval_windows(stream: np.ndarray, length: int, max_windows: int | None = None) -> np.ndarray:
    """Non-overlapping windows of a token stream: u8[L] -> i32[W, length + 1].

    Window w holds tokens [w * length, (w + 1) * length]; the tail that does not fill a
    window is dropped, and only the first `max_windows` windows are kept when given.
    """
    require_positive_int("eval.length", length)
    count = (stream.shape[0] - 1) // length
    if max_windows is not None:
        count = min(count, require_positive_int("eval.max_windows", max_windows))
    require(count > 0, "eval.stream", stream.shape[0], f"more than {length} tokens")
    starts = np.arange(count)[:, None] * length
    return stream[starts + np.arange(length + 1)[None, :]].astype(np.int32)


@partial(jax.jit, static_argnames=("config",))
def _group_log_probs(params: Any, windows: jax.Array, config: DecoderConfig) -> jax.Array:
    """f32[K_g, B, T, vocab] log-probabilities of the next token, members of one group."""
    model = CausalDecoder(config)
    logits = jax.vmap(lambda member: model.apply(member, windows[:, :-1]))(params)
    return jax.nn.log_softmax(logits, axis=-1)


def member_log_probs(groups: list[MemberGroup], windows: jax.Array) -> jax.Array:
    """Every member's next-token log-probabilities f32[K, B, T, vocab] on windows i32[B, T+1]."""
    return jnp.concatenate([_group_log_probs(g.params, windows, g.config) for g in groups])


@jax.jit
def log_likelihood_sums(
    log_probs: jax.Array, targets: jax.Array, weight_sets: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """Per-member and per-ensemble log-likelihood sums of a batch.

    Args:
        log_probs: f32[K, B, T, V].
        targets: i32[B, T].
        weight_sets: f32[E, K] one weight vector per ensemble.

    Returns:
        (f32[K] member sums, f32[E] ensemble sums) over the B * T tokens.
    """
    member_targets = jnp.broadcast_to(targets[None, :, :, None], (*log_probs.shape[:-1], 1))
    members = jnp.take_along_axis(log_probs, member_targets, axis=-1)[..., 0]
    mixtures = jax.vmap(mixture_log_probs, in_axes=(None, 0))(log_probs, weight_sets)
    ensemble_targets = jnp.broadcast_to(targets[None, :, :, None], (*mixtures.shape[:-1], 1))
    ensembles = jnp.take_along_axis(mixtures, ensemble_targets, axis=-1)[..., 0]
    return members.sum(axis=(1, 2)), ensembles.sum(axis=(1, 2))


def mean_log_likelihoods(
    groups: list[MemberGroup],
    windows: np.ndarray,
    weight_sets: np.ndarray,
    batch_size: int = 64,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean log-likelihood per token (nats) of each member and each weighted ensemble.

    Args:
        groups: the members, in member order K.
        windows: i32[W, T + 1] from `eval_windows`.
        weight_sets: f32[E, K] one weight vector per ensemble (normalised inside).
        batch_size: windows per evaluation batch.

    Returns:
        (f64[K] members, f64[E] ensembles); perplexity is exp(-mean log-likelihood).
    """
    require_positive_int("eval.batch_size", batch_size)
    member_sum, ensemble_sum = 0.0, 0.0
    weight_sets = jnp.asarray(weight_sets, jnp.float32)
    for first in range(0, windows.shape[0], batch_size):
        batch = jnp.asarray(windows[first : first + batch_size])
        members, ensembles = log_likelihood_sums(
            member_log_probs(groups, batch), batch[:, 1:], weight_sets
        )
        member_sum = member_sum + np.asarray(members, np.float64)
        ensemble_sum = ensemble_sum + np.asarray(ensembles, np.float64)
    num_tokens = windows.shape[0] * (windows.shape[1] - 1)
    return member_sum / num_tokens, ensemble_sum / num_tokens


def perplexity(mean_log_likelihood: np.ndarray | float) -> np.ndarray:
    """exp(-mean log-likelihood per token)."""
    return np.exp(-np.asarray(mean_log_likelihood, np.float64))
