"""Observation encoders: f32 feature vectors, i32 id grids and f32 images to f32 features.

All work on any number of leading (batch, time) axes and expose `obs_rank`, the number of
trailing axes that make up one observation.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.base import (
    ACTIVATIONS,
    dense,
    lead_axes,
    require_activation,
    require_int_tuple,
)
from marlax.validate import require, require_bool, require_positive_int

GRID_COMBINES = ("sum", "concat")


class VectorEncoder(nn.Module):
    """An MLP on feature vectors: f32[..., D] -> f32[..., hidden_sizes[-1]].

    With `hidden_sizes=()` the observation passes through unchanged (cast to f32). Float
    observations keep their dtype, so a bf16 model (which casts them) computes in bf16.

    Attributes:
        hidden_sizes: width of each Dense layer.
        activation: name in `ACTIVATIONS`, applied after every layer.
        layer_norm: a LayerNorm (`norm_<i>`) between each Dense layer and its activation:
            what test-time adaptation of a self-supervised policy adapts in the trunk
            (`marlax.models.next_obs`).
    """

    hidden_sizes: tuple[int, ...] = (64,)
    activation: str = "tanh"
    layer_norm: bool = False

    obs_rank = 1

    def __post_init__(self) -> None:
        require_int_tuple("encoder.hidden_sizes", self.hidden_sizes, allow_empty=True)
        require_activation("encoder.activation", self.activation)
        require_bool("encoder.layer_norm", self.layer_norm)
        super().__post_init__()

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """f32[..., D] -> f32[..., H]."""
        features = _as_float(obs)
        for index, size in enumerate(self.hidden_sizes):
            features = dense(size)(features)
            if self.layer_norm:
                features = nn.LayerNorm(name=f"norm_{index}")(features)
            features = ACTIVATIONS[self.activation](features)
        return features


class GridEncoder(nn.Module):
    """An encoder for egocentric id grids: i32[..., V, V, C] -> f32[..., output_size].

    Channel `c` holds small ids `0 .. vocab_sizes[c]-1` (tile kinds, unit kinds, ...). Each
    channel has its own embedding table; the C embeddings of a cell are summed (`"sum"`, E
    features) or concatenated (`"concat"`, C*E features), then a stack of SAME-padded convs,
    a flatten and a Dense layer give the features. Ids outside the table give NaN features,
    so a wrong `vocab_sizes` shows up at once.

    By default the first conv has stride 2: an 11 x 11 view becomes 6 x 6, which makes the
    encoder (with the folded first conv below) about 3x cheaper to train than embedding every
    cell and convolving at stride 1 (`benchmarks/results/grid_encoder.md`), while every cell
    still reaches the features.

    Attributes:
        vocab_sizes: table size per channel (`max_id + 1`); its length is C.
        embed_dim: E, features per embedded id.
        combine: "sum" or "concat".
        conv_channels: output channels of each conv layer.
        conv_strides: stride of each conv layer (same length as `conv_channels`); None means
            2 for the first layer and 1 for the others.
        kernel_size: square conv kernel size.
        output_size: features of the final Dense layer.
        activation: name in `ACTIVATIONS`.
    """

    vocab_sizes: tuple[int, ...] = (8,)
    embed_dim: int = 8
    combine: str = "sum"
    conv_channels: tuple[int, ...] = (16, 32)
    conv_strides: tuple[int, ...] | None = None
    kernel_size: int = 3
    output_size: int = 64
    activation: str = "relu"

    obs_rank = 3

    def __post_init__(self) -> None:
        require_int_tuple("encoder.vocab_sizes", self.vocab_sizes, allow_empty=False)
        require_positive_int("encoder.embed_dim", self.embed_dim)
        require(self.combine in GRID_COMBINES, "encoder.combine", self.combine, "'sum' or 'concat'")
        require_int_tuple("encoder.conv_channels", self.conv_channels, allow_empty=True)
        _require_strides(self.conv_strides, self.conv_channels)
        require_positive_int("encoder.kernel_size", self.kernel_size)
        require_positive_int("encoder.output_size", self.output_size)
        require_activation("encoder.activation", self.activation)
        super().__post_init__()

    def _tables(self) -> list[jax.Array]:
        """The C embedding tables, f32[vocab_sizes[c], E] each."""
        return [
            self.param(f"embed_{channel}", nn.initializers.normal(1.0), (vocab, self.embed_dim))
            for channel, vocab in enumerate(self.vocab_sizes)
        ]

    def _embed(self, obs: jax.Array, tables: list[jax.Array]) -> jax.Array:
        """i32[..., V, V, C] -> f32[..., V, V, E or C*E] as one-hot matmuls (a gather's
        gradient is a scatter-add, about 10x slower on XLA:CPU). The one-hots take the tables'
        dtype: an f32 one-hot would promote a bf16 model's matmul back to f32."""
        embedded = [
            jax.nn.one_hot(obs[..., channel], table.shape[0], dtype=table.dtype) @ table
            for channel, table in enumerate(tables)
        ]
        if self.combine == "sum":
            return sum(embedded[1:], embedded[0])
        return jnp.concatenate(embedded, axis=-1)

    def _embedded_conv(
        self, obs: jax.Array, tables: list[jax.Array], channels: int, stride: int
    ) -> jax.Array:
        """The first conv on the embedded grid, computed as a Dense on one-hot id patches:
        i32[..., V, V, C] -> f32[..., V', V', channels] (V' = ceil(V / stride)).

        Embedding then convolving is linear in the one-hot ids, so the kernel folds into one
        f32[k*k*sum(vocab), channels] matrix (`tables[c][v] @ kernel[offset]`). The result
        equals `conv(embed(obs))` (the zero padding is an all-zero one-hot), but the backward
        pass needs no gradient through the k*k shifted copies of the embedded grid: the
        encoder trains about 1.7x faster on XLA:CPU. The parameters are the embedding tables
        and `Dense_0` {kernel f32[k*k*E_in, channels], bias}, as for a plain Dense conv.
        """
        k, embed = self.kernel_size, self.embed_dim
        in_features = embed if self.combine == "sum" else embed * len(tables)
        first_layer = self.param(
            "Dense_0",
            lambda rng: {
                "kernel": nn.initializers.lecun_normal()(rng, (k * k * in_features, channels)),
                "bias": jnp.zeros((channels,), jnp.float32),
            },
        )
        kernel = first_layer["kernel"].reshape(k * k, -1, embed, channels)  # [k*k, 1 or C, E, out]
        folded = [
            jnp.einsum("ve,keo->kvo", table, kernel[:, 0 if self.combine == "sum" else c])
            for c, table in enumerate(tables)
        ]  # C x f32[k*k, vocab_c, out]
        folded_kernel = jnp.concatenate(folded, axis=1).reshape(-1, channels)
        id_patches = jnp.stack(_shifted(obs, k, stride, pad_value=-1), axis=-2)  # [.., k*k, C]
        one_hot = jnp.concatenate(
            [
                jax.nn.one_hot(id_patches[..., c], table.shape[0], dtype=table.dtype)
                for c, table in enumerate(tables)
            ],
            axis=-1,
        )  # [..., V', V', k*k, sum(vocab)]
        flat = one_hot.reshape((-1, folded_kernel.shape[0]))  # 2-D: a faster backward on CPU
        out = flat @ folded_kernel + first_layer["bias"][None]
        return out.reshape((*one_hot.shape[:-2], channels))

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """i32[..., V, V, C] -> f32[..., output_size]; NaN rows for ids outside the tables."""
        num_channels = len(self.vocab_sizes)
        if obs.ndim < 3 or obs.shape[-1] != num_channels:
            raise ValueError(
                f"GridEncoder expects obs [..., V, V, {num_channels}], got shape {obs.shape}"
            )
        obs = obs.astype(jnp.int32)  # u8/i8 id grids: ids and table offsets overflow bytes
        activation = ACTIVATIONS[self.activation]
        tables = self._tables()
        strides = self.conv_strides
        if strides is None:
            strides = tuple(2 if layer == 0 else 1 for layer in range(len(self.conv_channels)))
        if self.conv_channels:
            cells = activation(self._embedded_conv(obs, tables, self.conv_channels[0], strides[0]))
            features = _convs_and_dense(
                cells,
                self.conv_channels[1:],
                strides[1:],
                self.kernel_size,
                self.output_size,
                activation,
                first_layer=1,
            )
        else:
            cells = self._embed(obs, tables)
            features = _convs_and_dense(
                cells, (), (), self.kernel_size, self.output_size, activation
            )
        # a one-hot row of an out-of-table id is all zero: flag it instead of hiding it
        high = jnp.asarray(self.vocab_sizes, jnp.int32)
        valid = jnp.all((obs >= 0) & (obs < lead_axes(high, obs.ndim - 1)), axis=(-3, -2, -1))
        return jnp.where(valid[..., None], features, jnp.nan)


class ImageEncoder(nn.Module):
    """An encoder for float images: f32[..., H, W, C] -> f32[..., output_size].

    An optional learned per-channel affine `scale * obs + shift` (scale starts at 1, shift at
    0), then the same SAME-padded conv stack, flatten and Dense layer as `GridEncoder`.

    Attributes:
        conv_channels: output channels of each conv layer.
        conv_strides: stride of each conv layer (same length as `conv_channels`); None means
            1 everywhere (images are small views, e.g. energy_flow's 5 x 5).
        kernel_size: square conv kernel size.
        output_size: features of the final Dense layer.
        activation: name in `ACTIVATIONS`.
        channel_affine: whether to learn the per-channel scale and shift.
    """

    conv_channels: tuple[int, ...] = (16, 16)
    conv_strides: tuple[int, ...] | None = None
    kernel_size: int = 3
    output_size: int = 64
    activation: str = "relu"
    channel_affine: bool = False

    obs_rank = 3

    def __post_init__(self) -> None:
        require_int_tuple("encoder.conv_channels", self.conv_channels, allow_empty=True)
        _require_strides(self.conv_strides, self.conv_channels)
        require_positive_int("encoder.kernel_size", self.kernel_size)
        require_positive_int("encoder.output_size", self.output_size)
        require_activation("encoder.activation", self.activation)
        require_bool("encoder.channel_affine", self.channel_affine)
        super().__post_init__()

    @nn.compact
    def __call__(self, obs: jax.Array) -> jax.Array:
        """f32[..., H, W, C] -> f32[..., output_size]."""
        if obs.ndim < 3:
            raise ValueError(f"ImageEncoder expects obs [..., H, W, C], got shape {obs.shape}")
        cells = _as_float(obs)
        if self.channel_affine:
            num_channels = cells.shape[-1]
            scale = self.param("channel_scale", nn.initializers.ones, (num_channels,))
            shift = self.param("channel_shift", nn.initializers.zeros, (num_channels,))
            cells = cells * lead_axes(scale, cells.ndim - 1) + lead_axes(shift, cells.ndim - 1)
        return _convs_and_dense(
            cells,
            self.conv_channels,
            self.conv_strides or (1,) * len(self.conv_channels),
            self.kernel_size,
            self.output_size,
            ACTIVATIONS[self.activation],
        )


def _as_float(obs: jax.Array) -> jax.Array:
    """Float observations as they are (f32, or bf16 under a bf16 model); u8 images as
    intensities / 255 (so a u8 env and its float variant, bytes / 255, give equal features);
    other integers as f32."""
    if jnp.issubdtype(obs.dtype, jnp.floating):
        return obs
    if obs.dtype == jnp.uint8:
        return obs.astype(jnp.float32) * jnp.float32(1.0 / 255.0)
    return obs.astype(jnp.float32)


def _require_strides(strides: tuple[int, ...] | None, conv_channels: tuple[int, ...]) -> None:
    """None, or one positive int per conv layer."""
    if strides is None:
        return
    require_int_tuple("encoder.conv_strides", strides, allow_empty=True)
    require(
        len(strides) == len(conv_channels),
        "encoder.conv_strides",
        list(strides),
        f"one stride per conv layer ({len(conv_channels)} layers in encoder.conv_channels)",
    )


def _convs_and_dense(
    cells: jax.Array,
    conv_channels: tuple[int, ...],
    conv_strides: tuple[int, ...],
    kernel_size: int,
    output_size: int,
    activation: Callable[[jax.Array], jax.Array],
    first_layer: int = 0,
) -> jax.Array:
    """SAME convs (`_patches` + Dense), flatten, Dense: f32[..., H, W, E] -> f32[..., output_size].

    A stride-s layer maps H x W to ceil(H/s) x ceil(W/s), as `lax.conv` with "SAME" does.

    Called inside a compact `__call__`, so its Dense layers belong to that module, named
    `Dense_{first_layer} ..` for the convs and the next number for the output layer.
    """
    lead_shape = cells.shape[:-3]
    layers = zip(conv_channels, conv_strides, strict=True)
    for layer, (channels, stride) in enumerate(layers, start=first_layer):
        patches = _patches(cells, kernel_size, stride)
        cells = activation(dense(channels, name=f"Dense_{layer}")(patches))
    flat = cells.reshape((*lead_shape, -1))
    output_layer = first_layer + len(conv_channels)
    return activation(dense(output_size, name=f"Dense_{output_layer}")(flat))


def _patches(cells: jax.Array, kernel_size: int, stride: int = 1) -> jax.Array:
    """SAME-padded k x k neighbourhoods every `stride` cells: f32[..., H, W, E] ->
    f32[..., ceil(H/s), ceil(W/s), k*k*E].

    A Dense layer on these is a SAME convolution with that stride. It is written as shifts
    and a matmul because XLA:CPU runs a real convolution's gradient about 20x slower inside
    the training loop's `scan`, and turns a convolution vmapped over seeds into a grouped one.
    """
    return jnp.concatenate(_shifted(cells, kernel_size, stride, pad_value=0), axis=-1)


def _shifted(
    cells: jax.Array, kernel_size: int, stride: int, pad_value: float | int
) -> list[jax.Array]:
    """The k*k SAME-padded, strided shifts of x[..., H, W, E], each [..., H', W', E]."""
    height, width = cells.shape[-3:-1]
    pad = [(0, 0)] * (cells.ndim - 3)
    out_sizes = []
    for size in (height, width):
        out_size = -(-size // stride)
        # lax SAME: total pad (out-1)*s + k - size, the odd one after (bottom/right)
        total = max((out_size - 1) * stride + kernel_size - size, 0)
        pad.append((total // 2, total - total // 2))
        out_sizes.append(out_size)
    padded = jnp.pad(cells, [*pad, (0, 0)], constant_values=pad_value)
    out_height, out_width = out_sizes
    return [
        padded[
            ...,
            row : row + (out_height - 1) * stride + 1 : stride,
            col : col + (out_width - 1) * stride + 1 : stride,
            :,
        ]
        for row in range(kernel_size)
        for col in range(kernel_size)
    ]
