"""Fault tolerance outside jit: call each member, drop the ones that fail, combine the rest.

A member fails when it raises, returns NaN (or +inf, or -inf where the rule does not take
log-probabilities), returns a shape unlike the other members', or has been removed (its
slot is None, or its index is in `removed`). The survivors are combined with the rules in
`marlax.ensembles.rules` under an alive mask, so K stays fixed and a jitted rule does not
retrace when a member drops out; the weights are renormalised over the survivors.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from marlax.ensembles import rules
from marlax.validate import require, require_choice

RULES = ("weighted_average", "mixture_log_probs", "soft_vote", "hard_vote")
"""Rule names `combine_members` accepts (a callable `rule(outputs, weights, alive)` also works)."""

_LOG_SPACE_RULES = ("mixture_log_probs",)
"""Rules whose inputs are log-probabilities, where -inf (a masked action) is legitimate."""


class AllMembersFailedError(RuntimeError):
    """No member of the ensemble produced a usable answer; the message names each failure."""

    def __init__(self, failures: dict[int, str]) -> None:
        self.failures = failures
        listed = "; ".join(f"member {index}: {reason}" for index, reason in failures.items())
        super().__init__(f"all {len(failures)} ensemble members failed ({listed})")


class EnsembleAnswer(NamedTuple):
    """What a fault-tolerant ensemble answered, and who took part.

    Attributes:
        output: the combined output (f32[...] or i32[...] for votes).
        members_used: indices of the members that took part, ascending.
        weights_used: f32[K] the renormalised weights; 0 for dropped members.
        failures: member index -> why it was dropped.
    """

    output: jax.Array
    members_used: tuple[int, ...]
    weights_used: np.ndarray
    failures: dict[int, str]


def _output_problem(output: np.ndarray, allow_negative_inf: bool) -> str | None:
    """Why a member's output is unusable, or None when it is fine."""
    if not np.issubdtype(output.dtype, np.number):
        return f"returned a non-numeric array of dtype {output.dtype}"
    if np.issubdtype(output.dtype, np.integer):
        return None
    if np.isnan(output).any():
        return "returned NaN"
    if np.isposinf(output).any() or (not allow_negative_inf and np.isneginf(output).any()):
        return "returned inf"
    return None


def _call_members(
    members: Sequence[Callable[..., Any] | None],
    inputs: Any,
    removed: Collection[int],
    allow_negative_inf: bool,
) -> tuple[dict[int, np.ndarray], dict[int, str]]:
    """Call every member that is not removed; (index -> output, index -> failure reason)."""
    outputs, failures = {}, {}
    for index, member in enumerate(members):
        if member is None or index in removed:
            failures[index] = "removed"
            continue
        try:
            output = np.asarray(member(inputs))
        except Exception as error:  # any member error drops that member, by design
            failures[index] = f"raised {type(error).__name__}: {error}"
            continue
        problem = _output_problem(output, allow_negative_inf)
        if problem is None:
            outputs[index] = output
        else:
            failures[index] = problem
    return outputs, failures


def _drop_odd_shapes(
    outputs: dict[int, np.ndarray], failures: dict[int, str]
) -> dict[int, np.ndarray]:
    """Keep the members whose output shape is the most common one (first seen wins a tie)."""
    shapes = [output.shape for output in outputs.values()]
    common = max(shapes, key=shapes.count) if shapes else ()
    for index, output in list(outputs.items()):
        if output.shape != common:
            failures[index] = f"returned shape {output.shape}, the others {common}"
            del outputs[index]
    return outputs


def _apply_rule(
    rule: str | Callable[..., jax.Array],
    stacked: jax.Array,
    weights: jax.Array,
    alive: jax.Array,
    num_classes: int | None,
) -> jax.Array:
    if callable(rule):
        return rule(stacked, weights, alive)
    if rule == "hard_vote":
        require(num_classes is not None, "num_classes", num_classes, "an int for hard_vote")
        return rules.hard_vote(stacked, weights, num_classes, alive)
    named = {
        "weighted_average": rules.weighted_average,
        "mixture_log_probs": rules.mixture_log_probs,
        "soft_vote": rules.soft_vote,
    }
    return named[rule](stacked, weights, alive)


def combine_members(
    members: Sequence[Callable[..., Any] | None],
    inputs: Any,
    weights: Sequence[float] | np.ndarray | None = None,
    rule: str | Callable[..., jax.Array] = "weighted_average",
    num_classes: int | None = None,
    removed: Collection[int] = (),
) -> EnsembleAnswer:
    """Call each member on `inputs`, drop failures, renormalise the weights, combine.

    Args:
        members: K callables `member(inputs) -> array` (all the same shape); None = removed.
        inputs: passed unchanged to every member.
        weights: f32[K] non-negative, or None for uniform.
        rule: a name in RULES, or `rule(outputs f32[K, ...], weights f32[K], alive bool[K])`.
        num_classes: C, needed by "hard_vote" (members then return i32 labels).
        removed: indices of members taken out of the ensemble.

    Returns:
        EnsembleAnswer with the combined output and the members that took part.

    Raises:
        AllMembersFailedError: no member produced a usable output.
    """
    if not callable(rule):
        require_choice("rule", rule, RULES)
    num_members = len(members)
    require(num_members >= 1, "members", num_members, "at least one member")
    weights = np.ones(num_members) if weights is None else np.asarray(weights, dtype=np.float64)
    require(weights.shape == (num_members,), "weights", weights.shape, f"shape ({num_members},)")
    require(bool(np.all(weights >= 0)), "weights", weights.tolist(), "non-negative weights")
    outputs, failures = _call_members(members, inputs, removed, rule in _LOG_SPACE_RULES)
    outputs = _drop_odd_shapes(outputs, failures)
    if not outputs:
        raise AllMembersFailedError(dict(sorted(failures.items())))
    template = next(iter(outputs.values()))
    stacked = np.stack([outputs.get(i, np.zeros_like(template)) for i in range(num_members)])
    alive = np.array([i in outputs for i in range(num_members)])
    if weights[alive].sum() == 0:  # survivors exist but none may vote: nothing to renormalise
        failures.update({i: "has weight 0 and every weighted member failed" for i in outputs})
        raise AllMembersFailedError(dict(sorted(failures.items())))
    weights_f32 = jnp.asarray(weights, dtype=jnp.float32)
    output = _apply_rule(rule, jnp.asarray(stacked), weights_f32, jnp.asarray(alive), num_classes)
    return EnsembleAnswer(
        output=output,
        members_used=tuple(sorted(outputs)),
        weights_used=np.asarray(rules.normalise_weights(weights_f32, jnp.asarray(alive))),
        failures=dict(sorted(failures.items())),
    )
