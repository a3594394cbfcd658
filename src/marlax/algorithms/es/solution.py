"""The policy network's parameters as one flat vector, the solution evosax searches.

    solution = PolicySolution.of(actor_params)
    flat = solution.flatten(actor_params)              # f32[D]
    actor_params = solution.actor_params(flat)         # the flax tree again

The actor's value head is left out of the vector: ES never reads a value, so searching its
weights would only add dimensions. It is rebuilt as zeros (its output is ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree


def split_value_head(actor_params: Any) -> tuple[Any, Any]:
    """(the actor's parameters without `head/value`, the `head/value` parameters)."""
    inner = dict(actor_params["params"])
    head = dict(inner["head"])
    value_head = head.pop("value")
    return {**actor_params, "params": {**inner, "head": head}}, value_head


def join_value_head(searched: Any, value_head: Any) -> Any:
    """The inverse of `split_value_head`."""
    inner = dict(searched["params"])
    head = {**inner["head"], "value": value_head}
    return {**searched, "params": {**inner, "head": head}}


@dataclass(frozen=True)
class PolicySolution:
    """How a flat f32[D] vector maps to the actor's parameters (hashable: static in jit)."""

    unravel: Callable[[jax.Array], Any]
    value_shapes: Any  # the value head's leaves as ShapeDtypeStruct
    dimensions: int

    @classmethod
    def of(cls, actor_params: Any) -> PolicySolution:
        """The mapping for actor parameters shaped like `actor_params` (arrays or shapes)."""
        zeros = jax.tree.map(lambda leaf: jnp.zeros(leaf.shape, leaf.dtype), actor_params)
        searched, value_head = split_value_head(zeros)
        flat, unravel = ravel_pytree(searched)
        shapes = jax.tree.map(lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype), value_head)
        return cls(unravel, shapes, int(flat.size))

    def __hash__(self) -> int:
        return id(self)

    def flatten(self, actor_params: Any) -> jax.Array:
        """f32[D]: the searched parameters of `actor_params`, flat."""
        flat, _ = ravel_pytree(split_value_head(actor_params)[0])
        return flat

    def actor_params(self, flat: jax.Array) -> Any:
        """The actor's parameter tree for `flat` f32[D] (value head zeros)."""
        zeros = jax.tree.map(lambda shape: jnp.zeros(shape.shape, shape.dtype), self.value_shapes)
        return join_value_head(self.unravel(flat), zeros)
