"""A GRU core: the carry is the hidden state f32[*batch, H], zeroed where an episode starts."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.base import reset_carry
from marlax.validate import require_positive_int


def _gru_step(
    cell: nn.GRUCell, carry: jax.Array, inputs: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """Scan body: carries h f32[*batch, H]; stacks h over time.

    inputs: (features f32[*batch, D], reset bool[*batch]) for one step. The carry computes in
    the features' dtype (bf16 under a bf16 model; h is then bf16 and stores exactly in f32).
    """
    features, reset = inputs
    carry = reset_carry(carry.astype(features.dtype), reset)
    return cell(carry, features)


class GRUCore(nn.Module):
    """One GRU layer over time (flax `nn.GRUCell`).

    h_t = GRU(reset_t ? 0 : h_{t-1}, x_t); the output is h_t. `sequence` runs the same cell
    with `nn.scan`, so it equals T single steps.

    Attributes:
        hidden_size: H.
    """

    hidden_size: int = 64

    def __post_init__(self) -> None:
        require_positive_int("core.hidden_size", self.hidden_size)
        super().__post_init__()

    def setup(self) -> None:
        self.cell = nn.GRUCell(features=self.hidden_size)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """f32[*batch, H] zeros."""
        return jnp.zeros((*batch_shape, self.hidden_size), jnp.float32)

    def __call__(
        self, carry: jax.Array, features: jax.Array, reset: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """(f32[*batch, H], f32[*batch, D], bool[*batch]) -> (f32[*batch, H], f32[*batch, H])."""
        return _gru_step(self.cell, carry, (features, reset))

    def sequence(
        self, carry: jax.Array, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """T steps: (carry, f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, H])."""
        scan = nn.scan(
            _gru_step,
            variable_broadcast="params",
            split_rngs={"params": False},
            in_axes=0,
            out_axes=0,
        )
        # the scan carry keeps one dtype: the one each step computes in
        return scan(self.cell, carry.astype(features_seq.dtype), (features_seq, reset_seq))
