"""Graph node modules that the plain models do not have: conv feature-map tokens, self-attention
over a set of tokens, and a team consensus message whose team axis is the last batch axis."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.coordination.layers import ConsensusMessage
from marlax.models.attention import attend
from marlax.models.base import ACTIVATIONS, dense, require_activation, require_int_tuple
from marlax.models.encoders import _patches
from marlax.validate import require, require_positive, require_positive_int


class ConvTokens(nn.Module):
    """SAME convolutions on a float image, kept as one token per cell (no flatten):
    f32[..., H, W, C] -> f32[..., H*W, conv_channels[-1]].

    The same shift-and-matmul convolution as `ImageEncoder` (fast gradients on XLA:CPU), at
    stride 1, so a later self-attention node attends over the cells of the view.

    Attributes:
        conv_channels: output channels of each conv layer (at least one).
        kernel_size: square conv kernel size.
        activation: name in `ACTIVATIONS`.
    """

    conv_channels: tuple[int, ...] = (16,)
    kernel_size: int = 3
    activation: str = "relu"

    obs_rank = 3

    def __post_init__(self) -> None:
        require_int_tuple("conv_channels", self.conv_channels, allow_empty=False)
        require_positive_int("kernel_size", self.kernel_size)
        require_activation("activation", self.activation)
        super().__post_init__()

    @nn.compact
    def __call__(self, image: jax.Array) -> jax.Array:
        """f32[..., H, W, C] -> f32[..., H*W, conv_channels[-1]]."""
        cells = (
            image.astype(jnp.float32) if not jnp.issubdtype(image.dtype, jnp.floating) else image
        )
        for channels in self.conv_channels:
            patches = _patches(cells, self.kernel_size)
            cells = ACTIVATIONS[self.activation](dense(channels)(patches))
        return cells.reshape((*cells.shape[:-3], -1, cells.shape[-1]))


class TokenSelfAttention(nn.Module):
    """One pre-norm self-attention block over a set of S tokens, then the mean token:
    f32[..., S, D] -> f32[..., d_model].

    tokens = W_in x; tokens += Attn(Norm(tokens)); tokens += MLP(Norm(tokens)); out = mean_s.
    No positions: the set is attended as a set (a conv below has already mixed neighbours).

    Attributes:
        d_model: token width inside the block and of the output.
        num_heads: attention heads; d_model must be a multiple of it.
        mlp_ratio: MLP width as a multiple of d_model.
    """

    d_model: int = 32
    num_heads: int = 2
    mlp_ratio: int = 2

    def __post_init__(self) -> None:
        require_positive_int("d_model", self.d_model)
        require_positive_int("num_heads", self.num_heads)
        require_positive_int("mlp_ratio", self.mlp_ratio)
        require(
            self.d_model % self.num_heads == 0,
            "d_model",
            self.d_model,
            f"a multiple of num_heads = {self.num_heads}",
        )
        super().__post_init__()

    @nn.compact
    def __call__(self, tokens: jax.Array) -> jax.Array:
        """f32[..., S, D] -> f32[..., d_model]."""
        head_dim = self.d_model // self.num_heads
        tokens = dense(self.d_model, name="embed")(tokens)
        qkv = dense(3 * self.d_model, use_bias=False, name="qkv")(nn.LayerNorm(name="norm")(tokens))
        split = qkv.reshape((*qkv.shape[:-1], 3, self.num_heads, head_dim))
        query, key, value = split[..., 0, :, :], split[..., 1, :, :], split[..., 2, :, :]
        num_tokens = tokens.shape[-2]
        mask = jnp.ones((*tokens.shape[:-2], num_tokens, num_tokens), bool)
        tokens = tokens + dense(self.d_model, name="out")(attend(query, key, value, mask))
        hidden = nn.gelu(
            dense(self.mlp_ratio * self.d_model, name="mlp_in")(nn.LayerNorm()(tokens))
        )
        tokens = tokens + dense(self.d_model, name="mlp_out")(hidden)
        return jnp.mean(tokens, axis=-2)


class TeamConsensus(nn.Module):
    """`ConsensusMessage` on a graph's batch: the team is the last batch axis (the agents).

    f32[*lead, N, H] -> f32[*lead, N, H + features]: each agent's own features, then the robust
    consensus of its team's message embeddings (the same for every agent of a team).

    Attributes:
        features: width F of the message.
        sigma: relative kernel width of the robust consensus.
        max_iters: mean-shift iterations.
    """

    features: int = 32
    sigma: float = 0.5
    max_iters: int = 5

    def __post_init__(self) -> None:
        require_positive_int("features", self.features)
        require_positive("sigma", self.sigma)
        require_positive_int("max_iters", self.max_iters)
        super().__post_init__()

    @nn.compact
    def __call__(self, agent_features: jax.Array) -> jax.Array:
        """f32[*lead, N, H] -> f32[*lead, N, H + F]."""
        num_agents, width = agent_features.shape[-2:]
        teams = agent_features.reshape((-1, num_agents, width))
        message = ConsensusMessage(self.features, self.sigma, self.max_iters, name="message")(teams)
        message = message.reshape((*agent_features.shape[:-1], self.features))
        return jnp.concatenate([agent_features, message.astype(agent_features.dtype)], axis=-1)
