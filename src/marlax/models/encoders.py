"""Observation encoders: f32 feature vectors, i32 id grids and f32 images to f32 features.

All work on any number of leading (batch, time) axes and expose `obs_rank`, the number of
trailing axes that make up one observation.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.envs.base import require, require_positive_int
from marlax.models.base import ACTIVATIONS, lead_axes, require_activation, require_int_tuple

GRID_COMBINES = ("sum", "concat")


class VectorEncoder(nn.Module):
    """An MLP on feature vectors: f32[..., D] -> f32[..., hidden_sizes[-1]].

    With `hidden_sizes=()` the observation passes through unchanged (cast to f32).

    Attributes:
        hidden_sizes: width of each Dense layer.
        activation: name in `ACTIVATIONS`, applied after every layer.
    """

    hidden_sizes: tuple[int, ...] = (64,)
    activation: str = "tanh"

    obs_rank = 1

    def __post_init__(self) -> None:
        require_int_tuple("encoder.hidden_sizes", self.hidden_sizes, allow_empty=True)
        require_activation("encoder.activation", self.activation)
        super().__post_init__()

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """f32[..., D] -> f32[..., H]."""
        features = obs.astype(jnp.float32)
        for size in self.hidden_sizes:
            features = ACTIVATIONS[self.activation](nn.Dense(size)(features))
        return features


class GridEncoder(nn.Module):
    """An encoder for egocentric id grids: i32[..., V, V, C] -> f32[..., output_size].

    Channel `c` holds small ids `0 .. vocab_sizes[c]-1` (tile kinds, unit kinds, ...). Each
    channel has its own embedding table; the C embeddings of a cell are summed (`"sum"`, E
    features) or concatenated (`"concat"`, C*E features), then a stack of SAME-padded convs,
    a flatten and a Dense layer give the features. Ids outside the table give NaN features
    (`jnp.take` fill mode), so a wrong `vocab_sizes` shows up at once.

    Attributes:
        vocab_sizes: table size per channel (`max_id + 1`); its length is C.
        embed_dim: E, features per embedded id.
        combine: "sum" or "concat".
        conv_channels: output channels of each conv layer.
        kernel_size: square conv kernel size.
        output_size: features of the final Dense layer.
        activation: name in `ACTIVATIONS`.
    """

    vocab_sizes: tuple[int, ...] = (8,)
    embed_dim: int = 8
    combine: str = "sum"
    conv_channels: tuple[int, ...] = (16, 16)
    kernel_size: int = 3
    output_size: int = 64
    activation: str = "relu"

    obs_rank = 3

    def __post_init__(self) -> None:
        require_int_tuple("encoder.vocab_sizes", self.vocab_sizes, allow_empty=False)
        require_positive_int("encoder.embed_dim", self.embed_dim)
        require(self.combine in GRID_COMBINES, "encoder.combine", self.combine, "'sum' or 'concat'")
        require_int_tuple("encoder.conv_channels", self.conv_channels, allow_empty=True)
        require_positive_int("encoder.kernel_size", self.kernel_size)
        require_positive_int("encoder.output_size", self.output_size)
        require_activation("encoder.activation", self.activation)
        super().__post_init__()

    def _embed(self, ids: jax.Array, vocab_size: int, name: str) -> jax.Array:
        """i32[...] -> f32[..., E] as a one-hot matmul: its gradient is a matmul too, where a
        gather's is a scatter-add (about 10x slower on XLA:CPU). Out-of-table ids give NaN."""
        table = self.param(name, nn.initializers.normal(1.0), (vocab_size, self.embed_dim))
        one_hot = jax.nn.one_hot(ids, vocab_size, dtype=jnp.float32)
        valid = ((ids >= 0) & (ids < vocab_size))[..., None]
        return jnp.where(valid, one_hot @ table, jnp.nan)

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """i32[..., V, V, C] -> f32[..., output_size]."""
        num_channels = len(self.vocab_sizes)
        if obs.ndim < 3 or obs.shape[-1] != num_channels:
            raise ValueError(
                f"GridEncoder expects obs [..., V, V, {num_channels}], got shape {obs.shape}"
            )
        activation = ACTIVATIONS[self.activation]
        embedded = [
            self._embed(obs[..., channel], vocab_size, f"embed_{channel}")
            for channel, vocab_size in enumerate(self.vocab_sizes)
        ]  # C x f32[..., V, V, E]
        if self.combine == "sum":
            cells = sum(embedded[1:], embedded[0])
        else:
            cells = jnp.concatenate(embedded, axis=-1)
        return _convs_and_dense(
            cells, self.conv_channels, self.kernel_size, self.output_size, activation
        )


class ImageEncoder(nn.Module):
    """An encoder for float images: f32[..., H, W, C] -> f32[..., output_size].

    An optional learned per-channel affine `scale * obs + shift` (scale starts at 1, shift at
    0), then the same SAME-padded conv stack, flatten and Dense layer as `GridEncoder`.

    Attributes:
        conv_channels: output channels of each conv layer.
        kernel_size: square conv kernel size.
        output_size: features of the final Dense layer.
        activation: name in `ACTIVATIONS`.
        channel_affine: whether to learn the per-channel scale and shift.
    """

    conv_channels: tuple[int, ...] = (16, 16)
    kernel_size: int = 3
    output_size: int = 64
    activation: str = "relu"
    channel_affine: bool = False

    obs_rank = 3

    def __post_init__(self) -> None:
        require_int_tuple("encoder.conv_channels", self.conv_channels, allow_empty=True)
        require_positive_int("encoder.kernel_size", self.kernel_size)
        require_positive_int("encoder.output_size", self.output_size)
        require_activation("encoder.activation", self.activation)
        require(
            isinstance(self.channel_affine, bool),
            "encoder.channel_affine",
            self.channel_affine,
            "true or false",
        )
        super().__post_init__()

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """f32[..., H, W, C] -> f32[..., output_size]."""
        if obs.ndim < 3:
            raise ValueError(f"ImageEncoder expects obs [..., H, W, C], got shape {obs.shape}")
        cells = obs.astype(jnp.float32)
        if self.channel_affine:
            num_channels = cells.shape[-1]
            scale = self.param("channel_scale", nn.initializers.ones, (num_channels,))
            shift = self.param("channel_shift", nn.initializers.zeros, (num_channels,))
            cells = cells * lead_axes(scale, cells.ndim - 1) + lead_axes(shift, cells.ndim - 1)
        return _convs_and_dense(
            cells,
            self.conv_channels,
            self.kernel_size,
            self.output_size,
            ACTIVATIONS[self.activation],
        )


def _convs_and_dense(
    cells: jax.Array,
    conv_channels: tuple[int, ...],
    kernel_size: int,
    output_size: int,
    activation: Callable[[jax.Array], jax.Array],
) -> jax.Array:
    """SAME convs (`_patches` + Dense), flatten, Dense: f32[..., H, W, E] -> f32[..., output_size].

    Called inside a compact `__call__`, so its Dense layers belong to that module (named
    `Dense_0 .. Dense_{L-1}` for the convs, `Dense_L` for the output layer).
    """
    lead_shape = cells.shape[:-3]
    for channels in conv_channels:
        patches = _patches(cells, kernel_size)
        cells = activation(nn.Dense(channels)(patches))
    flat = cells.reshape((*lead_shape, -1))
    return activation(nn.Dense(output_size)(flat))


def _patches(cells: jax.Array, kernel_size: int) -> jax.Array:
    """SAME-padded k x k neighbourhoods: f32[..., H, W, E] -> f32[..., H, W, k*k*E].

    A Dense layer on these is a stride-1 SAME convolution. It is written as shifts and a
    matmul because XLA:CPU runs a real convolution's gradient about 20x slower inside the
    training loop's `scan`, and turns a convolution vmapped over seeds into a grouped one.
    """
    # lax/flax SAME: the extra pad of an even kernel goes after (bottom/right)
    low = (kernel_size - 1) // 2
    high = kernel_size - 1 - low
    height, width = cells.shape[-3:-1]
    pad = [(0, 0)] * (cells.ndim - 3) + [(low, high), (low, high), (0, 0)]
    padded = jnp.pad(cells, pad)
    shifted = [
        padded[..., row : row + height, col : col + width, :]
        for row in range(kernel_size)
        for col in range(kernel_size)
    ]
    return jnp.concatenate(shifted, axis=-1)
