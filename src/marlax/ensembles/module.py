"""Flax modules that hold K members and combine their outputs with a rule.

`Ensemble` wraps K copies of one member module with `nn.vmap` over parameters (every
parameter leaf leads with K; `ensemble_variables` turns `fit_members` output into its
variables). `ListEnsemble` holds members of different shapes whose outputs share a shape.

Rules (`MODULE_RULES`), applied to the members' raw outputs f32[K, ..., C]:
    average: weighted mean of the outputs (values, regressions, logits).
    mixture: outputs are logits; log of the weighted mean of their softmaxes (log-probs).
    soft_vote: argmax of the weighted mean of softmax probabilities (i32).
    hard_vote: weighted majority of each member's argmax (i32), ties to the lowest class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.ensembles import rules
from marlax.validate import require, require_choice

MODULE_RULES = ("average", "mixture", "soft_vote", "hard_vote")


def combine_outputs(
    outputs: jax.Array, rule: str, weights: jax.Array, alive: jax.Array | None = None
) -> jax.Array:
    """Combine raw member outputs f32[K, ..., C] with a rule in MODULE_RULES.

    Returns:
        f32[..., C] for average / mixture (log-probs), i32[...] for the votes.
    """
    require_choice("rule", rule, MODULE_RULES)
    if rule == "average":
        return rules.weighted_average(outputs, weights, alive)
    if rule == "mixture":
        return rules.mixture_log_probs(jax.nn.log_softmax(outputs, axis=-1), weights, alive)
    if rule == "soft_vote":
        return rules.soft_vote(jax.nn.softmax(outputs, axis=-1), weights, alive)
    labels = jnp.argmax(outputs, axis=-1)
    return rules.hard_vote(labels, weights, outputs.shape[-1], alive)


def _resolve_weights(
    num_members: int, static: Sequence[float] | None, given: jax.Array | None
) -> jax.Array:
    """Call-time weights, else the module's, else uniform: f32[K]."""
    if given is not None:
        return jnp.asarray(given, jnp.float32)
    if static is not None:
        require(len(static) == num_members, "weights", static, f"{num_members} weights")
        return jnp.asarray(static, jnp.float32)
    return jnp.ones((num_members,), jnp.float32)


class Ensemble(nn.Module):
    """K copies of `member` with their own parameters, combined by `rule`.

    Attributes:
        member: the member module; it maps inputs to f32[..., C].
        num_members: K.
        rule: one of MODULE_RULES.
        weights: K static weights, or None (uniform); a call may pass weights instead.
    """

    member: nn.Module
    num_members: int
    rule: str = "average"
    weights: tuple[float, ...] | None = None

    def member_outputs(self, inputs: Any) -> jax.Array:
        """f32[K, ..., C] every member's raw output on the same inputs."""
        each = nn.vmap(
            lambda module, shared_inputs: module(shared_inputs),
            variable_axes={"params": 0},
            split_rngs={"params": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.num_members,
        )
        return each(self.member, inputs)

    @nn.compact
    def __call__(
        self, inputs: Any, alive: jax.Array | None = None, weights: jax.Array | None = None
    ) -> jax.Array:
        """The combined output; `alive: bool[K]` drops members, `weights: f32[K]` overrides."""
        outputs = self.member_outputs(inputs)
        member_weights = _resolve_weights(self.num_members, self.weights, weights)
        return combine_outputs(outputs, self.rule, member_weights, alive)


def ensemble_variables(stacked_member_variables: dict[str, Any]) -> dict[str, Any]:
    """`fit_members` output ({"params": leaves [K, ...]}) -> variables for `Ensemble`."""
    return {"params": {"member": stacked_member_variables["params"]}}


class ListEnsemble(nn.Module):
    """Members of different shapes (a Python list) whose outputs share a shape.

    Attributes:
        members: K modules; parameters live under members_0 .. members_{K-1}.
        rule: one of MODULE_RULES.
        weights: K static weights, or None (uniform).
    """

    members: Sequence[nn.Module]
    rule: str = "average"
    weights: tuple[float, ...] | None = None

    def member_outputs(self, inputs: Any) -> jax.Array:
        """f32[K, ..., C] every member's raw output, stacked."""
        outputs = [member(inputs) for member in self.members]
        shapes = {output.shape for output in outputs}
        require(len(shapes) == 1, "members", sorted(shapes), "outputs of one shape")
        return jnp.stack(outputs)

    @nn.compact
    def __call__(
        self, inputs: Any, alive: jax.Array | None = None, weights: jax.Array | None = None
    ) -> jax.Array:
        """The combined output; `alive: bool[K]` drops members, `weights: f32[K]` overrides."""
        outputs = self.member_outputs(inputs)
        member_weights = _resolve_weights(len(self.members), self.weights, weights)
        return combine_outputs(outputs, self.rule, member_weights, alive)


def list_ensemble_variables(member_variables: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """K separately trained members' variables -> variables for `ListEnsemble`."""
    return {"params": {f"members_{i}": v["params"] for i, v in enumerate(member_variables)}}
