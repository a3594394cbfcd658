"""A feed-forward core: no memory, so the carry is an empty f32[*batch, 0] array."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.base import ACTIVATIONS, dense, require_activation, require_int_tuple


class MLPCore(nn.Module):
    """Dense layers on each step alone: f32[..., D] -> f32[..., hidden_sizes[-1]].

    `reset` is accepted and ignored (there is nothing to clear). The carry is a dummy
    f32[*batch, 0] so every model returns a carry of the same kind of pytree.

    Attributes:
        hidden_sizes: width of each Dense layer (at least one).
        activation: name in `ACTIVATIONS`.
    """

    hidden_sizes: tuple[int, ...] = (64, 64)
    activation: str = "tanh"

    def __post_init__(self) -> None:
        require_int_tuple("core.hidden_sizes", self.hidden_sizes, allow_empty=False)
        require_activation("core.activation", self.activation)
        super().__post_init__()

    def setup(self) -> None:
        self.layers = [dense(size) for size in self.hidden_sizes]

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """f32[*batch, 0]."""
        return jnp.zeros((*batch_shape, 0), jnp.float32)

    def _forward(self, features: jax.Array) -> jax.Array:
        """f32[..., D] -> f32[..., H] on every leading axis at once."""
        for layer in self.layers:
            features = ACTIVATIONS[self.activation](layer(features))
        return features

    def __call__(
        self, carry: jax.Array, features: jax.Array, reset: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """(f32[*batch, 0], f32[*batch, D], bool[*batch]) -> (carry, f32[*batch, H])."""
        return carry, self._forward(features)

    def sequence(
        self, carry: jax.Array, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """(f32[*batch, 0], f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, H]).

        Time is one more batch axis for a feed-forward net, so this maps over it in one call.
        """
        return carry, self._forward(features_seq)
