"""Combination rules: pure, jittable functions over K members' stacked outputs.

Members sit on axis 0 (`K`). Every rule takes an optional `alive: bool[K]` mask so a
member can be excluded inside jit: the weights are renormalised over the alive members
and a dead member's output is selected away with `jnp.where`, never multiplied by zero,
so its NaN or inf cannot leak into the answer. A member whose (given) weight is zero is
excluded the same way. If no member is alive the float rules return NaN: inside jit that
is the honest signal; `marlax.ensembles.fault.combine_members` raises instead.

Shapes: `K` members, `C` classes; `...` is any batch shape shared by all members.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.validate import require, require_choice

PERFORMANCE_KINDS = ("proportional", "rank", "softmax", "best")
"""The ways `performance_weights` turns validation scores into weights."""


def _alive_mask(num_members: int, alive: jax.Array | None) -> jax.Array:
    """`alive` as bool[K], all True when None; checks the member count at trace time."""
    if alive is None:
        return jnp.ones((num_members,), dtype=bool)
    require(
        jnp.shape(alive) == (num_members,), "alive", jnp.shape(alive), f"shape ({num_members},)"
    )
    return jnp.asarray(alive, dtype=bool)


def _check_weights(weights: jax.Array, num_members: int) -> jax.Array:
    require(
        jnp.shape(weights) == (num_members,),
        "weights",
        jnp.shape(weights),
        f"shape ({num_members},): one weight per member",
    )
    return jnp.asarray(weights, dtype=jnp.float32)


def _member_axis(values: jax.Array, ndim: int) -> jax.Array:
    """f32[K] -> f32[K, 1, ..., 1] with `ndim` dims, for explicit broadcasting."""
    return values.reshape(values.shape + (1,) * (ndim - 1))


def normalise_weights(weights: jax.Array, alive: jax.Array | None = None) -> jax.Array:
    """Weights renormalised to sum 1 over the alive members; dead members get 0.

    Args:
        weights: f32[K], non-negative.
        alive: bool[K] or None (all alive).

    Returns:
        f32[K] summing to 1 over alive members (NaN everywhere if no alive member
        has positive weight).
    """
    weights = jnp.asarray(weights, dtype=jnp.float32)
    mask = _alive_mask(weights.shape[0], alive)
    kept = jnp.where(mask, weights, 0.0)
    return kept / jnp.sum(kept)


def _included(weights: jax.Array, alive: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """(normalised weights f32[K], included bool[K]): alive and with positive weight."""
    normalised = normalise_weights(weights, alive)
    return normalised, normalised > 0


def weighted_average(
    outputs: jax.Array, weights: jax.Array, alive: jax.Array | None = None
) -> jax.Array:
    """sum_k w_k * outputs_k with w normalised to sum 1 over the alive members.

    Args:
        outputs: f32[K, ...] the members' outputs (values, logits, probabilities, ...).
        weights: f32[K] non-negative; normalised inside.
        alive: bool[K] or None; dead members' outputs never reach the result.

    Returns:
        f32[...] the weighted mean.
    """
    outputs = jnp.asarray(outputs)
    weights = _check_weights(weights, outputs.shape[0])
    normalised, included = _included(weights, alive)
    safe = jnp.where(_member_axis(included, outputs.ndim), outputs, 0.0)
    return jnp.sum(safe * _member_axis(normalised, outputs.ndim), axis=0)


def simple_average(outputs: jax.Array, alive: jax.Array | None = None) -> jax.Array:
    """The plain mean over the alive members.

    Args:
        outputs: f32[K, ...].
        alive: bool[K] or None.

    Returns:
        f32[...].
    """
    outputs = jnp.asarray(outputs)
    return weighted_average(outputs, jnp.ones((outputs.shape[0],), jnp.float32), alive)


def _average_ranks(scores: jax.Array, mask: jax.Array) -> jax.Array:
    """Ranks among alive members, 1 = worst, ties share their average rank (O(K^2), no sort)."""
    lower = (scores[None, :] < scores[:, None]) & mask[None, :]
    equal = (scores[None, :] == scores[:, None]) & mask[None, :]
    return 1.0 + jnp.sum(lower, axis=1) + 0.5 * (jnp.sum(equal, axis=1) - 1.0)


def performance_weights(
    scores: jax.Array,
    kind: str = "proportional",
    temperature: float = 1.0,
    alive: jax.Array | None = None,
) -> jax.Array:
    """Weights from validation performance (higher score = better; pass -loss for losses).

    Kinds (`kind` is static):
        proportional: w_k ∝ max(s_k, 0), e.g. validation accuracy; uniform if all are 0.
        rank: w_k ∝ rank_k, 1 for the worst .. K for the best; ties share the average rank.
        softmax: w_k ∝ exp(s_k / temperature), e.g. s = validation log-likelihood
            (then this is `bma_weights`).
        best: uniform over the members with the best score (model selection); ties split.

    Args:
        scores: f32[K] validation scores.
        kind: one of PERFORMANCE_KINDS.
        temperature: > 0, only for kind="softmax".
        alive: bool[K] or None; dead members get weight 0.

    Returns:
        f32[K], non-negative, summing to 1 over the alive members.
    """
    require_choice("kind", kind, PERFORMANCE_KINDS)
    scores = jnp.asarray(scores, dtype=jnp.float32)
    mask = _alive_mask(scores.shape[0], alive)
    if kind == "softmax":
        return bma_weights(scores, temperature, alive)
    if kind == "proportional":
        raw = jnp.maximum(scores, 0.0)
        raw = jnp.where(jnp.sum(jnp.where(mask, raw, 0.0)) > 0, raw, 1.0)
    elif kind == "rank":
        raw = _average_ranks(scores, mask)
    else:
        best = jnp.max(jnp.where(mask, scores, -jnp.inf))
        raw = (scores == best).astype(jnp.float32)
    return normalise_weights(raw, mask)


def bma_weights(
    log_evidence: jax.Array, temperature: float = 1.0, alive: jax.Array | None = None
) -> jax.Array:
    """Bayesian model averaging posterior weights under a uniform prior.

    w_k = softmax(log_evidence / temperature)_k. temperature -> inf gives uniform weights,
    temperature -> 0 puts all weight on the best member (ties split). The maximum is
    subtracted before dividing, so a tiny temperature does not overflow.

    Args:
        log_evidence: f32[K] log marginal likelihood, or held-out log-likelihood, per member.
        temperature: > 0 (a Python number is checked eagerly).
        alive: bool[K] or None; dead members get weight 0.

    Returns:
        f32[K] posterior weights, summing to 1 over the alive members.
    """
    if isinstance(temperature, int | float):
        require(temperature > 0, "temperature", temperature, "a number > 0")
    log_evidence = jnp.asarray(log_evidence, dtype=jnp.float32)
    mask = _alive_mask(log_evidence.shape[0], alive)
    masked = jnp.where(mask, log_evidence, -jnp.inf)
    centred = jnp.where(mask, masked - jnp.max(masked), -jnp.inf)
    unnormalised = jnp.where(mask, jnp.exp(centred / temperature), 0.0)
    return unnormalised / jnp.sum(unnormalised)


def mixture_log_probs(
    log_probs: jax.Array, weights: jax.Array, alive: jax.Array | None = None
) -> jax.Array:
    """log sum_k w_k p_k(c): the averaged-probability ensemble, computed in log space.

    Args:
        log_probs: f32[K, ..., C] each member's log-probabilities (may hold -inf for
            masked actions).
        weights: f32[K] non-negative; normalised inside over alive members.
        alive: bool[K] or None.

    Returns:
        f32[..., C] the mixture's log-probabilities (they logsumexp to 0 over C).
    """
    log_probs = jnp.asarray(log_probs)
    weights = _check_weights(weights, log_probs.shape[0])
    normalised, included = _included(weights, alive)
    log_weights = jnp.log(jnp.where(included, normalised, 1.0))
    included_b = _member_axis(included, log_probs.ndim)
    terms = jnp.where(included_b, log_probs + _member_axis(log_weights, log_probs.ndim), -jnp.inf)
    return jax.nn.logsumexp(terms, axis=0)


def hard_vote(
    labels: jax.Array,
    weights: jax.Array,
    num_classes: int,
    alive: jax.Array | None = None,
) -> jax.Array:
    """Weighted majority of labels, ties to the lowest class index (sklearn VotingClassifier).

    The class score is the weighted bincount sum_k w_k [label_k = c] with the weights as
    given (not renormalised, so integer weights tie exactly as in sklearn); argmax returns
    the first maximum.

    Args:
        labels: i32[K, ...] each member's predicted class (or greedy action) in [0, C).
        weights: f32[K] non-negative.
        num_classes: C (static).
        alive: bool[K] or None; dead members do not vote.

    Returns:
        i32[...] the winning class.
    """
    labels = jnp.asarray(labels)
    weights = _check_weights(weights, labels.shape[0])
    mask = _alive_mask(labels.shape[0], alive)
    votes = jax.nn.one_hot(labels, num_classes, dtype=jnp.float32)
    voter_weights = _member_axis(jnp.where(mask, weights, 0.0), votes.ndim)
    return jnp.argmax(jnp.sum(votes * voter_weights, axis=0), axis=-1).astype(jnp.int32)


def soft_vote(probs: jax.Array, weights: jax.Array, alive: jax.Array | None = None) -> jax.Array:
    """argmax of the weighted mean of probabilities; an argmax tie goes to the lowest index.

    Args:
        probs: f32[K, ..., C] each member's class probabilities.
        weights: f32[K] non-negative; normalised inside over alive members.
        alive: bool[K] or None.

    Returns:
        i32[...] the winning class.
    """
    mean = weighted_average(probs, weights, alive)
    return jnp.argmax(mean, axis=-1).astype(jnp.int32)
