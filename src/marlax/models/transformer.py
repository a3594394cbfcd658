"""A Transformer over time: causal attention over the agent's last L steps.

Acting one step at a time, the carry is a rolling key/value cache of the previous L-1 steps
per layer. Learning on a sequence, all T steps attend at once (plus the cache the sequence
starts from) under a mask: a token sees only tokens of its own episode within the last L
steps (itself included). Both paths compute the same function.

Each layer attends over L steps; as in any KV-cached Transformer, layer l's cached keys were
computed from earlier context, so the receptive field of the last layer is
num_layers * (L - 1) + 1 steps (never across an episode start).
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

    keys: jax.Array  # f32[*batch, layers, M, heads, head_dim], not yet rotated
    values: jax.Array  # f32[*batch, layers, M, heads, head_dim]
    valid: jax.Array  # bool[*batch, M], False for empty slots and slots of a past episode


def _norm(kind: str, name: str) -> nn.Module:
    return nn.LayerNorm(name=name) if kind == "layernorm" else nn.RMSNorm(name=name)


class _Block(nn.Module):
    """One pre-norm block: x + Attn(Norm(x)), then x + MLP(Norm(x))."""

    d_model: int
    num_heads: int
    mlp_ratio: int
    norm: str

    def setup(self) -> None:
        self.attn_norm = _norm(self.norm, "attn_norm")
        self.qkv = dense(3 * self.d_model, use_bias=False)
        self.attn_out = dense(self.d_model)
        self.mlp_norm = _norm(self.norm, "mlp_norm")
        self.mlp_in = dense(self.mlp_ratio * self.d_model)
        self.mlp_out = dense(self.d_model)

    def project(self, tokens: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """f32[..., d] -> query, key, value, each f32[..., heads, head_dim]."""
        qkv = self.qkv(self.attn_norm(tokens))
        qkv = qkv.reshape((*qkv.shape[:-1], 3, self.num_heads, -1))
        return qkv[..., 0, :, :], qkv[..., 1, :, :], qkv[..., 2, :, :]

    def finish(self, tokens: jax.Array, attended: jax.Array) -> jax.Array:
        """Residual attention output, then the residual MLP: f32[..., d] -> f32[..., d]."""
        tokens = tokens + self.attn_out(attended)
        return tokens + self.mlp_out(nn.gelu(self.mlp_in(self.mlp_norm(tokens))))


class TransformerCore(nn.Module):
    """Causal, windowed, episode-masked self-attention over time with RoPE and pre-norm.

    Attributes:
        d_model: token width (H of the output).
        num_layers: number of blocks.
        num_heads: attention heads; d_model / num_heads must be an even integer.
        context_length: L, how many steps a token sees, itself included (cache of L-1).
        mlp_ratio: MLP width as a multiple of d_model.
        norm: "layernorm" or "rmsnorm".
        rope_base: RoPE wavelength base.

    Cost: one step attends over L tokens; a sequence of T over T + L - 1 (O(T (T + L))).
    """

    d_model: int = 64
    num_layers: int = 2
    num_heads: int = 4
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
        require(self.norm in NORMS, "core.norm", self.norm, f"one of {NORMS}")
        require_number("core.rope_base", self.rope_base, 1.0, open_low=True)
        super().__post_init__()

    @property
    def memory(self) -> int:
        """M = L - 1, the cached steps."""
        return self.context_length - 1

    def setup(self) -> None:
        self.embed = dense(self.d_model)
        self.blocks = [
            _Block(self.d_model, self.num_heads, self.mlp_ratio, self.norm)
            for _ in range(self.num_layers)
        ]
        self.final_norm = _norm(self.norm, "final_norm")

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> TransformerCarry:
        """An empty cache: zeros and `valid` all False."""
        head_dim = self.d_model // self.num_heads
        shape = (*batch_shape, self.num_layers, self.memory, self.num_heads, head_dim)
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
            keys = jnp.concatenate([carry.keys[..., layer, :, :, :], key[..., None, :, :]], -3)
            values = jnp.concatenate(
                [carry.values[..., layer, :, :, :], value[..., None, :, :]], -3
            )
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

    def _sequence_mask(self, valid: jax.Array, reset_bt: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Who sees whom in a sequence that starts from a cache.

        Args:
            valid: bool[*batch, M] the cache slots.
            reset_bt: bool[*batch, T].

        Returns:
            mask bool[*batch, T, M+T] and the new cache's valid bool[*batch, M].
        """
        memory, length = self.memory, reset_bt.shape[-1]
        episode = jnp.cumsum(reset_bt.astype(jnp.int32), axis=-1)  # i32[*batch, T]
        # cache slots belong to episode 0 of this sequence; later resets hide them
        key_episode = jnp.concatenate([jnp.zeros_like(valid, jnp.int32), episode], axis=-1)
        key_valid = jnp.concatenate([valid, jnp.ones_like(reset_bt)], axis=-1)
        query_pos = jnp.arange(length)[:, None]
        key_pos = jnp.arange(-memory, length)[None, :]
        window = (key_pos <= query_pos) & (query_pos - key_pos <= memory)  # bool[T, M+T]
        same_episode = episode[..., :, None] == key_episode[..., None, :]
        mask = key_valid[..., None, :] & same_episode & lead_axes(window, reset_bt.ndim - 1)
        last_valid = key_valid & (key_episode == episode[..., -1:])
        return mask, last_valid[..., length:]

    def sequence(
        self, carry: TransformerCarry, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[TransformerCarry, jax.Array]:
        """T steps: (carry, f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, d])."""
        length = features_seq.shape[0]
        reset_bt = jnp.moveaxis(reset_seq, 0, -1)  # bool[*batch, T]
        mask, new_valid = self._sequence_mask(carry.valid, reset_bt)
        positions = jnp.arange(-self.memory, length)
        tokens = jnp.moveaxis(self.embed(features_seq), 0, -2)  # f32[*batch, T, d]
        new_keys, new_values = [], []
        for layer, block in enumerate(self.blocks):
            query, key, value = block.project(tokens)  # f32[*batch, T, heads, head_dim]
            keys = jnp.concatenate([carry.keys[..., layer, :, :, :], key], axis=-3)
            values = jnp.concatenate([carry.values[..., layer, :, :, :], value], axis=-3)
            query = rope(query, positions[self.memory :], self.rope_base)
            attended = attend(query, rope(keys, positions, self.rope_base), values, mask)
            tokens = block.finish(tokens, attended)
            new_keys.append(keys[..., length:, :, :])
            new_values.append(values[..., length:, :, :])
        carry = TransformerCarry(
            keys=jnp.stack(new_keys, axis=-4),
            values=jnp.stack(new_values, axis=-4),
            valid=new_valid,
        )
        return carry, jnp.moveaxis(self.final_norm(tokens), -2, 0)
