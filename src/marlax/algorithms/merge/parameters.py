"""Weighted averages of parameter trees of one architecture.

    merged = average_parameters([params_a, params_b, params_c], weights=[0.5, 0.25, 0.25])

Averaging is only meaningful between members that share an architecture (same tree, same
shapes); and in practice only between members that share an initialisation (e.g. fine-tuned
from one parent): two independently initialised networks compute the same function with
their hidden units permuted differently, so their average is usually worse than either
(BENCHMARKS.md, merged models).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.errors import ConfigError
from marlax.validate import require, require_number


def check_same_architecture(trees: Sequence[Any], names: Sequence[str]) -> None:
    """Every tree has the first one's structure, shapes and dtypes.

    Raises:
        ConfigError: field "merge", naming the member and the first parameter that differs.
    """
    first_paths = _leaf_shapes(trees[0])
    for tree, name in zip(trees[1:], names[1:], strict=True):
        paths = _leaf_shapes(tree)
        if paths == first_paths:
            continue
        differing = sorted(set(paths.items()) ^ set(first_paths.items()))[0][0]
        raise ConfigError(
            "merge",
            name,
            f"a member with the architecture of {names[0]} (parameter {differing} differs)",
        )


def _leaf_shapes(tree: Any) -> dict[str, tuple]:
    flat = jax.tree_util.tree_flatten_with_path(tree)[0]
    return {
        jax.tree_util.keystr(path): (tuple(np.shape(leaf)), str(np.asarray(leaf).dtype))
        for path, leaf in flat
    }


def normalised_weights(weights: Sequence[float] | None, count: int) -> np.ndarray:
    """f64[count] summing to 1 (equal when `weights` is None).

    Raises:
        ConfigError: a count other than `count`, a negative weight, or all zero.
    """
    if weights is None:
        return np.full(count, 1.0 / count)
    require(len(weights) == count, "weights", list(weights), f"{count} numbers, one per member")
    for weight in weights:
        require_number("weights", weight, 0.0)
    total = float(sum(weights))
    require(total > 0, "weights", list(weights), "at least one positive weight")
    return np.asarray(weights, dtype=np.float64) / total


def average_parameters(trees: Sequence[Any], weights: Sequence[float] | None = None) -> Any:
    """sum_k w_k theta_k leaf by leaf (float leaves; others are taken from the first tree).

    Args:
        trees: K parameter trees of one architecture.
        weights: K non-negative weights (normalised here), or None for equal ones.

    Returns:
        A tree like `trees[0]` whose float leaves are the weighted averages (in f32
        arithmetic, cast back to each leaf's dtype).
    """
    require(len(trees) >= 1, "merge", len(trees), "at least one member")
    check_same_architecture(trees, [str(index) for index in range(len(trees))])
    w = normalised_weights(weights, len(trees))

    def _average(*leaves: Any) -> Any:
        if not jnp.issubdtype(jnp.asarray(leaves[0]).dtype, jnp.floating):
            return leaves[0]
        stacked = jnp.stack([jnp.asarray(leaf, jnp.float32) for leaf in leaves])
        averaged = jnp.tensordot(jnp.asarray(w, jnp.float32), stacked, axes=1)
        return averaged.astype(jnp.asarray(leaves[0]).dtype)

    return jax.tree.map(_average, *trees)
