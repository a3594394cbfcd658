"""Compute dtypes: run a model in bfloat16 while everything it stores stays float32.

`RecurrentModel(dtype="bfloat16")` keeps float32 parameters (so the optimiser state and its
updates stay float32) and casts, at its entry points only:

- a copy of every float parameter to bf16 in `RecurrentModel.apply`, except the few in
  `FLOAT32_PARAMS` (the gradient flows back through the cast, so `jax.grad` returns float32
  gradients for the float32 parameters);
- float observations to bf16 (integer id grids stay integers);
- its outputs (policy logits or Gaussian parameters, value, carry) back to float32, so the
  losses and the carries stored between steps are float32.

Inside, every module computes in the dtype of what it is given, so nothing in the modules
names bf16. What must stay wide does so on purpose: attention softmax and LayerNorm/RMSNorm
statistics are float32 (flax's norms upcast their reductions), and the SSM's linear
recurrence runs in float32 as in Mamba's own kernels (the state is a long product of decays).
The promotion trap is any strongly typed float32 array meeting a bf16 one (a one-hot, a RoPE
table, a zero carry): it silently promotes the whole op back to float32, so such arrays are
built in the dtype of the activations they meet (`tests/models/test_precision.py` checks that
every matmul of every core and encoder sees bf16 operands).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from marlax.validate import require_choice

COMPUTE_DTYPES: dict[str, Any] = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}

FLOAT32_PARAMS = frozenset({"dt_bias", "a_log", "lambda_re", "lambda_im", "log_step"})
"""Parameters the bf16 copy keeps in f32: the SSM's step-size bias and log-decay, which pass
through softplus/exp into the f32 recurrence. bf16 spaces numbers near the dt bias's -7 by
0.03, i.e. a 3% error in every step size, so Mamba keeps these two in f32 as well; and S5's
eigenvalues and log-timescales, likewise (its bf16 output error at T = 512: 15% with them in
bf16, 0.7% in f32)."""


def compute_dtype(field: str, name: str) -> Any:
    """The jnp dtype for a `COMPUTE_DTYPES` name.

    Raises:
        ConfigError: naming `field` when `name` is not one of `COMPUTE_DTYPES`.
    """
    require_choice(field, name, tuple(COMPUTE_DTYPES))
    return COMPUTE_DTYPES[name]


def cast_floating(tree: Any, dtype: Any) -> Any:
    """Cast every floating-point leaf of a pytree to `dtype`; other leaves pass unchanged.

    Integer, boolean and key leaves (id grids, reset flags, `valid` masks) keep their dtype.
    """

    def cast(leaf: Any) -> Any:
        if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf.astype(dtype)
        return leaf

    return jax.tree.map(cast, tree)


def cast_parameters(variables: Any, dtype: Any) -> Any:
    """`cast_floating` on a model's variables, except leaves named in `FLOAT32_PARAMS`."""

    def cast(path: tuple[Any, ...], leaf: Any) -> Any:
        name = getattr(path[-1], "key", None) if path else None
        return leaf if name in FLOAT32_PARAMS else cast_floating(leaf, dtype)

    return jax.tree_util.tree_map_with_path(cast, variables)
