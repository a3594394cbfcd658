"""A Transformer over time: causal attention over the agent's last L steps.

Acting one step at a time, the carry is a rolling key/value cache of the previous L-1 steps
per layer. Learning on a sequence, all T steps attend at once (plus the cache the sequence
starts from) under a mask: a token sees only tokens of its own episode within the last L
steps (itself included). Both paths compute the same function. The sequence is cut into
chunks of L queries, each attending to its own L keys and the L - 1 before them, so a
sequence costs O(T L), not O(T^2) (the masked-out keys of a full T x T product would add
exactly 0).

Each layer attends over L steps; as in any KV-cached Transformer, layer l's cached keys were
computed from earlier context, so the receptive field of the last layer is
num_layers * (L - 1) + 1 steps (never across an episode start).

With `num_kv_heads` < `num_heads` (grouped-query attention), groups of query heads share a
key/value head: the cache and the K/V projection shrink by num_heads / num_kv_heads.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from marlax.models.attention import attend, rope
from marlax.models.base import dense, lead_axes
from marlax.validate import require, require_number, require_positive_int

NORMS = ("layernorm", "rmsnorm")


@struct.dataclass
class TransformerCarry:
    """Rolling cache of the last M = L-1 steps, oldest first (index M-1 is the previous step)."""

    keys: jax.Array  # f32[*batch, layers, M, kv_heads, head_dim], not yet rotated
    values: jax.Array  # f32[*batch, layers, M, kv_heads, head_dim]
    valid: jax.Array  # bool[*batch, M], False for empty slots and slots of a past episode


def _norm(kind: str, name: str) -> nn.Module:
    return nn.LayerNorm(name=name) if kind == "layernorm" else nn.RMSNorm(name=name)


def _cache_in(carry: TransformerCarry, layer: int, dtype: jnp.dtype) -> tuple[jax.Array, jax.Array]:
    """One layer's cached keys and values f32[*batch, M, kv_heads, head_dim], in `dtype`.

    The cache is stored f32; under a bf16 model its entries were bf16 keys and values, so the
    cast back is exact (and an f32 cache would promote the whole attention to f32).
    """
    keys = carry.keys[..., layer, :, :, :].astype(dtype)
    return keys, carry.values[..., layer, :, :, :].astype(dtype)


def _windows(x: jax.Array, memory: int, chunk: int, trailing: int) -> jax.Array:
    """Each chunk's keys: the M steps before it and its own L, by slicing (no gather).

    Args:
        x: [*batch, M + C * L, *rest] (the cache, then the padded sequence); rest has
            `trailing` axes.
        memory: M <= L - 1; chunk: L.

    Returns:
        [*batch, C, M + L, *rest]: row c holds steps c L - M .. c L + L - 1 of the sequence
        (negative steps are the cache).
    """
    axis = x.ndim - trailing - 1
    cache = jax.lax.slice_in_dim(x, 0, memory, axis=axis)
    steps = jax.lax.slice_in_dim(x, memory, x.shape[axis], axis=axis)
    chunks = steps.shape[axis] // chunk
    steps = steps.reshape((*x.shape[:axis], chunks, chunk, *x.shape[axis + 1 :]))
    # chunk c's M earlier steps: the cache for c = 0, else the last M of chunk c - 1
    earlier = jax.lax.slice_in_dim(steps, 0, chunks - 1, axis=axis)
    earlier = jax.lax.slice_in_dim(earlier, chunk - memory, chunk, axis=axis + 1)
    earlier = jnp.concatenate([jnp.expand_dims(cache, axis), earlier], axis=axis)
    return jnp.concatenate([earlier, steps], axis=axis + 1)


class _Block(nn.Module):
    """One pre-norm block: x + Attn(Norm(x)), then x + MLP(Norm(x))."""

    d_model: int
    num_heads: int
    num_kv_heads: int
    mlp_ratio: int
    norm: str

    def setup(self) -> None:
        self.attn_norm = _norm(self.norm, "attn_norm")
        kv_width = self.num_kv_heads * (self.d_model // self.num_heads)
        self.qkv = dense(self.d_model + 2 * kv_width, use_bias=False)
        self.attn_out = dense(self.d_model)
        self.mlp_norm = _norm(self.norm, "mlp_norm")
        self.mlp_in = dense(self.mlp_ratio * self.d_model)
        self.mlp_out = dense(self.d_model)

    def project(self, tokens: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """f32[..., d] -> query f32[..., heads, head_dim], key and value f32[..., kv_heads,
        head_dim].

        The projection's columns are [queries | keys | values], head-major inside each: with
        kv_heads = heads this is the [3, heads, head_dim] layout of plain multi-head attention.
        """
        qkv = self.qkv(self.attn_norm(tokens))
        head_dim = self.d_model // self.num_heads
        kv_width = self.num_kv_heads * head_dim
        query, key, value = jnp.split(qkv, [self.d_model, self.d_model + kv_width], axis=-1)
        lead = qkv.shape[:-1]
        return (
            query.reshape((*lead, self.num_heads, head_dim)),
            key.reshape((*lead, self.num_kv_heads, head_dim)),
            value.reshape((*lead, self.num_kv_heads, head_dim)),
        )

    def finish(self, tokens: jax.Array, attended: jax.Array) -> jax.Array:
        """Residual attention output, then the residual MLP: f32[..., d] -> f32[..., d]."""
        tokens = tokens + self.attn_out(attended)
        return tokens + self.mlp_out(nn.gelu(self.mlp_in(self.mlp_norm(tokens))))


class TransformerCore(nn.Module):
    """Causal, windowed, episode-masked self-attention over time with RoPE and pre-norm.

    Attributes:
        d_model: token width (H of the output).
        num_layers: number of blocks.
        num_heads: attention (query) heads; d_model / num_heads must be an even integer.
        num_kv_heads: key/value heads, a divisor of num_heads (grouped-query attention);
            None means num_heads (multi-head attention). The cache holds this many heads.
        context_length: L, how many steps a token sees, itself included (cache of L-1).
        mlp_ratio: MLP width as a multiple of d_model.
        norm: "layernorm" or "rmsnorm".
        rope_base: RoPE wavelength base.

    Cost: one step attends over L tokens; a sequence of T over T + L - 1 (O(T (T + L))).
    """

    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int | None = None
    context_length: int = 16
    mlp_ratio: int = 4
    norm: str = "layernorm"
    rope_base: float = 10000.0

    def __post_init__(self) -> None:
        for field in ("d_model", "num_layers", "num_heads", "context_length", "mlp_ratio"):
            require_positive_int(f"core.{field}", getattr(self, field))
        head_dim, remainder = divmod(self.d_model, self.num_heads)
        require(
            remainder == 0 and head_dim % 2 == 0,
            "core.d_model",
            self.d_model,
            f"a multiple of 2 * num_heads = {2 * self.num_heads} (RoPE rotates pairs)",
        )
        if self.num_kv_heads is not None:
            require_positive_int("core.num_kv_heads", self.num_kv_heads)
            require(
                self.num_heads % self.num_kv_heads == 0,
                "core.num_kv_heads",
                self.num_kv_heads,
                f"a divisor of num_heads = {self.num_heads} (query heads share K/V heads)",
            )
        require(self.norm in NORMS, "core.norm", self.norm, f"one of {NORMS}")
        require_number("core.rope_base", self.rope_base, 1.0, open_low=True)
        super().__post_init__()

    @property
    def kv_heads(self) -> int:
        """Key/value heads: `num_kv_heads`, or `num_heads` when unset."""
        return self.num_heads if self.num_kv_heads is None else self.num_kv_heads

    @property
    def memory(self) -> int:
        """M = L - 1, the cached steps."""
        return self.context_length - 1

    def setup(self) -> None:
        self.embed = dense(self.d_model)
        self.blocks = [
            _Block(self.d_model, self.num_heads, self.kv_heads, self.mlp_ratio, self.norm)
            for _ in range(self.num_layers)
        ]
        self.final_norm = _norm(self.norm, "final_norm")

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> TransformerCarry:
        """An empty cache: zeros and `valid` all False."""
        head_dim = self.d_model // self.num_heads
        shape = (*batch_shape, self.num_layers, self.memory, self.kv_heads, head_dim)
        return TransformerCarry(
            keys=jnp.zeros(shape, jnp.float32),
            values=jnp.zeros(shape, jnp.float32),
            valid=jnp.zeros((*batch_shape, self.memory), bool),
        )

    def __call__(
        self, carry: TransformerCarry, features: jax.Array, reset: jax.Array
    ) -> tuple[TransformerCarry, jax.Array]:
        """One step: (carry, f32[*batch, D], bool[*batch]) -> (carry, f32[*batch, d_model])."""
        valid = carry.valid & ~reset[..., None]  # bool[*batch, M]
        # the cache sits at positions -M .. -1, the new token at 0
        key_valid = jnp.concatenate([valid, jnp.ones_like(valid[..., :1])], axis=-1)
        mask = key_valid[..., None, :]  # bool[*batch, 1, M+1]
        positions = jnp.arange(-self.memory, 1)
        tokens = self.embed(features)
        new_keys, new_values = [], []
        for layer, block in enumerate(self.blocks):
            query, key, value = block.project(tokens)
            cached_keys, cached_values = _cache_in(carry, layer, key.dtype)
            keys = jnp.concatenate([cached_keys, key[..., None, :, :]], -3)
            values = jnp.concatenate([cached_values, value[..., None, :, :]], -3)
            query = rope(query[..., None, :, :], positions[-1:], self.rope_base)
            attended = attend(query, rope(keys, positions, self.rope_base), values, mask)
            tokens = block.finish(tokens, attended[..., 0, :])
            new_keys.append(keys[..., 1:, :, :])
            new_values.append(values[..., 1:, :, :])
        carry = TransformerCarry(
            keys=jnp.stack(new_keys, axis=-4),
            values=jnp.stack(new_values, axis=-4),
            valid=key_valid[..., 1:],
        )
        return carry, self.final_norm(tokens)

    def _sequence_mask(
        self, valid: jax.Array, reset_bt: jax.Array, padded: int
    ) -> tuple[jax.Array, jax.Array]:
        """Who sees whom in a sequence that starts from a cache, chunk by chunk.

        Args:
            valid: bool[*batch, M] the cache slots.
            reset_bt: bool[*batch, T].
            padded: T rounded up to a multiple of L (steps past T are padding).

        Returns:
            mask bool[*batch, C, L, M+L] (C = padded / L chunks: chunk c's queries against
            the M keys before it and its own L) and the new cache's valid bool[*batch, M].
        """
        memory, length = self.memory, reset_bt.shape[-1]
        episode = jnp.cumsum(reset_bt.astype(jnp.int32), axis=-1)  # i32[*batch, T]
        # cache slots belong to episode 0 of this sequence; later resets hide them
        key_episode = jnp.concatenate([jnp.zeros_like(valid, jnp.int32), episode], axis=-1)
        key_valid = jnp.concatenate([valid, jnp.ones_like(reset_bt)], axis=-1)
        last_valid = key_valid & (key_episode == episode[..., -1:])
        # padding steps form an episode of their own (-1) that sees only itself
        extra = [(0, 0)] * (reset_bt.ndim - 1) + [(0, padded - length)]
        episode = jnp.pad(episode, extra, constant_values=-1)
        key_episode = jnp.pad(key_episode, extra, constant_values=-1)
        key_valid = jnp.pad(key_valid, extra, constant_values=True)
        chunk = self.context_length
        query_episode = episode.reshape((*episode.shape[:-1], padded // chunk, chunk))
        key_episode = _windows(key_episode, memory, chunk, 0)  # i32[*batch, C, M+L]
        key_valid = _windows(key_valid, memory, chunk, 0)
        query_pos = jnp.arange(chunk)[:, None]  # chunk-relative: keys start M before
        key_pos = jnp.arange(-memory, chunk)[None, :]
        window = (key_pos <= query_pos) & (query_pos - key_pos <= memory)  # bool[L, M+L]
        same_episode = query_episode[..., :, None] == key_episode[..., None, :]
        mask = key_valid[..., None, :] & same_episode & lead_axes(window, reset_bt.ndim)
        return mask, last_valid[..., length:]

    def sequence(
        self, carry: TransformerCarry, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[TransformerCarry, jax.Array]:
        """T steps: (carry, f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, d])."""
        length, chunk = features_seq.shape[0], self.context_length
        padded = -(-length // chunk) * chunk
        reset_bt = jnp.moveaxis(reset_seq, 0, -1)  # bool[*batch, T]
        mask, new_valid = self._sequence_mask(carry.valid, reset_bt, padded)
        positions = jnp.arange(-self.memory, padded)
        tokens = jnp.moveaxis(self.embed(features_seq), 0, -2)  # f32[*batch, T, d]
        pad_steps = [(0, 0)] * (tokens.ndim - 2) + [(0, padded - length), (0, 0), (0, 0)]
        new_keys, new_values = [], []
        for layer, block in enumerate(self.blocks):
            query, key, value = block.project(tokens)  # f32[*batch, T, (kv_)heads, head_dim]
            cached_keys, cached_values = _cache_in(carry, layer, key.dtype)
            keys = jnp.concatenate([cached_keys, key], axis=-3)
            values = jnp.concatenate([cached_values, value], axis=-3)
            new_keys.append(keys[..., length:, :, :])
            new_values.append(values[..., length:, :, :])
            query = rope(jnp.pad(query, pad_steps), positions[self.memory :], self.rope_base)
            keys = rope(jnp.pad(keys, pad_steps), positions, self.rope_base)
            attended = attend(
                query.reshape((*query.shape[:-3], padded // chunk, chunk, *query.shape[-2:])),
                _windows(keys, self.memory, chunk, 2),
                _windows(jnp.pad(values, pad_steps), self.memory, chunk, 2),
                mask,
            )  # f32[*batch, C, L, d]
            attended = attended.reshape((*attended.shape[:-3], padded, attended.shape[-1]))
            tokens = block.finish(tokens, attended[..., :length, :])
        carry = TransformerCarry(
            keys=jnp.stack(new_keys, axis=-4),
            values=jnp.stack(new_values, axis=-4),
            valid=new_valid,
        )
        return carry, jnp.moveaxis(self.final_norm(tokens), -2, 0)
