"""Combine the members' scores into one answer with the ensemble rules, inside jit.

Discrete actions: each member's scores are log-probabilities; `soft_vote` plays the argmax
of their mean probability (`marlax.ensembles.rules.soft_vote`), `average` the mode of the
equal-weight mixture (`simple_average` of the probabilities). With equal weights both play
the same action; both answer the mean probabilities. Continuous actions: `average` is the
mean action. A member that is down is masked out with the rules' `alive` mask, so its
(placeholder) scores never reach the answer.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from marlax.ensembles.rules import simple_average, soft_vote


@partial(jax.jit, static_argnames=("rule", "discrete"))
def combine_scores(
    scores: jax.Array, alive: jax.Array, *, rule: str, discrete: bool
) -> tuple[jax.Array, jax.Array]:
    """(actions, probabilities) of K members' scores.

    Args:
        scores: f32[K, B, N, A] log-probabilities (discrete) or actions (continuous).
        alive: bool[K], False for members that did not answer.
        rule: "soft_vote" or "average" (static).
        discrete: whether actions are discrete (static).

    Returns:
        (i32[B, N] actions and f32[B, N, A] mean probabilities) for discrete actions;
        (f32[B, N, A] mean actions, the same array) for continuous ones.
    """
    if not discrete:
        actions = simple_average(scores, alive)
        return actions, actions
    probabilities = jnp.exp(scores)
    mean = simple_average(probabilities, alive)
    if rule == "soft_vote":
        weights = jnp.ones((scores.shape[0],), jnp.float32)
        return soft_vote(probabilities, weights, alive), mean
    return jnp.argmax(mean, axis=-1).astype(jnp.int32), mean
