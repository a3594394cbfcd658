"""A tiny GPT-style decoder built on marlax's Transformer core.

`TransformerCore.sequence` already is a causal decoder over a whole sequence: started from an
empty cache with no episode resets and `context_length` >= the window, token t attends to
tokens 0..t of the window, through pre-norm blocks with RoPE. So the decoder reuses the core
whole and adds only what language modelling needs around it:

- token embedding: the core's input layer is a Dense over features; fed one-hot tokens it is
  exactly an embedding table (plus a bias) of shape [vocab, d_model];
- position embedding: the core's rotary embedding (RoPE) inside every attention layer;
- dropout (of a rate that may differ per member under vmap) on the one-hot input and on the
  core's output;
- an untied output layer d_model -> vocab, initialised small (GPT-2 uses std 0.02).

The price of reusing the core: its cache of L-1 slots is empty here but still takes part in
every attention (masked out), so attention reads 2T-1 keys instead of T.
"""

from __future__ import annotations

from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models import TransformerCore
from marlax.models.base import dense
from marlax.validate import require_positive_int


@dataclass(frozen=True)
class DecoderConfig:
    """Shape of a decoder; members that share one train on a vmap axis."""

    vocab_size: int = 97
    """Tokens in the vocabulary (the output width)."""
    d_model: int = 64
    """Token width."""
    num_layers: int = 2
    """Transformer blocks."""
    num_heads: int = 4
    """Attention heads; d_model / num_heads must be even (RoPE)."""
    context_length: int = 64
    """T, the tokens a window holds (each predicts the next)."""
    mlp_ratio: int = 4
    """MLP width as a multiple of d_model."""

    def __post_init__(self) -> None:
        require_positive_int("decoder.vocab_size", self.vocab_size)
        self.core()  # the core checks its own fields and raises ConfigError

    def core(self) -> TransformerCore:
        """The Transformer core of this shape."""
        return TransformerCore(
            d_model=self.d_model,
            num_layers=self.num_layers,
            num_heads=self.num_heads,
            context_length=self.context_length,
            mlp_ratio=self.mlp_ratio,
        )


def dropout(key: jax.Array, values: jax.Array, rate: jax.Array) -> jax.Array:
    """Inverted dropout with a traced rate (so each vmapped member can have its own).

    Args:
        key: PRNG key.
        values: f32[...].
        rate: f32[] probability of zeroing an entry, in [0, 1).

    Returns:
        f32[...]: kept entries scaled by 1 / (1 - rate); rate 0 returns `values` unchanged.
    """
    keep_probability = 1.0 - rate
    keep = jax.random.bernoulli(key, keep_probability, values.shape)
    return jnp.where(keep, values / keep_probability, 0.0)


class CausalDecoder(nn.Module):
    """Next-token logits for every position of a window of tokens.

    Attributes:
        config: the decoder's shape.
    """

    config: DecoderConfig

    def setup(self) -> None:
        self.core = self.config.core()
        # small output weights: an untrained decoder predicts nearly uniformly (loss ~ log V)
        self.output = dense(self.config.vocab_size, kernel_init=nn.initializers.normal(0.02))

    def __call__(
        self,
        tokens: jax.Array,
        dropout_rate: jax.Array | float = 0.0,
        dropout_key: jax.Array | None = None,
    ) -> jax.Array:
        """Logits of the next token at every position.

        Args:
            tokens: i32[*batch, T] (u8 accepted), T <= config.context_length.
            dropout_rate: f32[] dropout on the one-hot input and on the core's output.
            dropout_key: PRNG key; None switches dropout off (evaluation).

        Returns:
            f32[*batch, T, vocab]: logits[..., t, :] predicts tokens[..., t + 1] from
            tokens[..., :t + 1] only.
        """
        batch_shape, length = tokens.shape[:-1], tokens.shape[-1]
        features = jax.nn.one_hot(tokens, self.config.vocab_size)  # f32[*batch, T, vocab]
        if dropout_key is not None:
            input_key, output_key = jax.random.split(dropout_key)
            features = dropout(input_key, features, dropout_rate)
        carry = self.core.initialize_carry(batch_shape)
        no_reset = jnp.zeros((length, *batch_shape), bool)
        _, hidden = self.core.sequence(carry, jnp.moveaxis(features, -2, 0), no_reset)
        hidden = jnp.moveaxis(hidden, 0, -2)  # f32[*batch, T, d_model]
        if dropout_key is not None:
            hidden = dropout(output_key, hidden, dropout_rate)
        return self.output(hidden)


def token_log_likelihood(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """log p(target) under each row of logits: (f32[..., V], i32[...]) -> f32[...]."""
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(log_probs, targets[..., None].astype(jnp.int32), axis=-1)[..., 0]
