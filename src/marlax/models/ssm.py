"""A selective state-space core (Mamba-style S6, diagonal, without the short conv).

Per layer, with u = W_u Norm(x) (E channels) and a state of N per channel:

    dt_t = softplus(W_dt u_t + b_dt)                     f32[E]
    a_t  = exp(dt_t A),  A = -exp(A_log)                 f32[E, N]   (0 where reset_t)
    b_t  = (dt_t u_t) outer B_t,  B_t = W_B u_t          f32[E, N]
    h_t  = a_t * h_{t-1} + b_t
    y_t  = h_t C_t + D u_t,  C_t = W_C u_t
    x    = x + W_o (y_t * silu(W_g Norm(x)))

(Gu & Dao 2023, Mamba, Algorithm 2, eqs. 2a-2b with ZOH for A and Euler for B.) The linear
recurrence is an associative scan over (a, b) pairs, so a sequence costs O(log T) depth.
Setting a_t = 0 where an episode starts clears the state exactly.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.base import dense, lead_axes
from marlax.validate import require_positive_int


def _combine(
    earlier: tuple[jax.Array, jax.Array], later: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """Compose h -> a1 h + b1 then h -> a2 h + b2 into h -> a2 a1 h + (a2 b1 + b2)."""
    a_first, b_first = earlier
    a_second, b_second = later
    return a_second * a_first, a_second * b_first + b_second


def _dt_bias_init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """softplus^-1 of step sizes drawn log-uniformly in [1e-3, 1e-1] (Mamba's init)."""
    log_dt = jax.random.uniform(key, shape, dtype, jnp.log(1e-3), jnp.log(1e-1))
    dt = jnp.exp(log_dt)
    return dt + jnp.log(-jnp.expm1(-dt))


def _a_log_init(key: jax.Array, shape: tuple[int, ...], dtype=jnp.float32) -> jax.Array:
    """log(1 .. N) in every channel, i.e. A = -(1 .. N) (S4D-real); f32[E, N]; no randomness."""
    del key
    return jnp.broadcast_to(jnp.log(jnp.arange(1, shape[-1] + 1, dtype=dtype)), shape)


class _SelectiveLayer(nn.Module):
    """One residual selective-SSM layer; `gates` and `output` are shared by both paths."""

    d_model: int
    inner_size: int
    state_size: int

    def setup(self) -> None:
        self.norm = nn.RMSNorm()
        self.in_proj = dense(2 * self.inner_size, use_bias=False)
        self.dt_proj = dense(self.inner_size, use_bias=False)
        self.dt_bias = self.param("dt_bias", _dt_bias_init, (self.inner_size,))
        self.b_proj = dense(self.state_size, use_bias=False)
        self.c_proj = dense(self.state_size, use_bias=False)
        self.a_log = self.param("a_log", _a_log_init, (self.inner_size, self.state_size))
        self.skip = self.param("skip", nn.initializers.ones, (self.inner_size,))
        self.out_proj = dense(self.d_model, use_bias=False)

    def gates(self, tokens: jax.Array, reset: jax.Array) -> tuple[jax.Array, ...]:
        """f32[..., d], bool[...] -> a, b f32[..., E, N]; C f32[..., N]; u, gate f32[..., E].

        The projections run in the tokens' dtype; dt, a and b are always f32, so the
        recurrence (a long product of decays) runs in f32 under a bf16 model, as in Mamba's
        kernels.
        """
        inner, gate = jnp.split(self.in_proj(self.norm(tokens)), 2, axis=-1)
        # dt_bias and a_log stay f32 under bf16 (precision.FLOAT32_PARAMS): dt is f32 too
        dt_logit = self.dt_proj(inner).astype(jnp.float32)
        dt = jax.nn.softplus(dt_logit + lead_axes(self.dt_bias, inner.ndim - 1))
        a_matrix = lead_axes(-jnp.exp(self.a_log), inner.ndim - 1)  # f32[1.., E, N]
        decay = jnp.exp(dt[..., None] * a_matrix)  # f32[..., E, N]
        decay = jnp.where(reset[..., None, None], jnp.zeros_like(decay), decay)
        drive = (dt * inner)[..., :, None] * self.b_proj(inner)[..., None, :]  # f32[..., E, N]
        return decay, drive, self.c_proj(inner), inner, gate

    def output(
        self, tokens: jax.Array, state: jax.Array, c_t: jax.Array, inner: jax.Array, gate: jax.Array
    ) -> jax.Array:
        """Read the state f32[..., E, N] out into the residual stream f32[..., d].

        The read-out runs in C's dtype (the compute dtype), not the f32 state's.
        """
        read = jnp.einsum("...en,...n->...e", state.astype(c_t.dtype), c_t)
        read = read + lead_axes(self.skip, inner.ndim - 1) * inner
        return tokens + self.out_proj(read * nn.silu(gate))


class SSMCore(nn.Module):
    """Stacked selective-scan layers; the carry is the state f32[*batch, layers, E, N].

    Attributes:
        d_model: residual width (H of the output).
        num_layers: stacked layers.
        state_size: N, state per channel.
        expand: E = expand * d_model channels inside each layer.
    """

    d_model: int = 64
    num_layers: int = 2
    state_size: int = 16
    expand: int = 2

    def __post_init__(self) -> None:
        for field in ("d_model", "num_layers", "state_size", "expand"):
            require_positive_int(f"core.{field}", getattr(self, field))
        super().__post_init__()

    def setup(self) -> None:
        self.embed = dense(self.d_model)
        inner = self.expand * self.d_model
        self.layers = [
            _SelectiveLayer(self.d_model, inner, self.state_size) for _ in range(self.num_layers)
        ]
        self.final_norm = nn.RMSNorm()

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """f32[*batch, layers, E, N] zeros."""
        inner = self.expand * self.d_model
        return jnp.zeros((*batch_shape, self.num_layers, inner, self.state_size), jnp.float32)

    def __call__(
        self, carry: jax.Array, features: jax.Array, reset: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """One step: (carry, f32[*batch, D], bool[*batch]) -> (carry, f32[*batch, d]).

        h = a * h + b per layer, with a = 0 where reset.
        """
        tokens = self.embed(features)
        states = []
        for index, layer in enumerate(self.layers):
            decay, drive, c_t, inner, gate = layer.gates(tokens, reset)
            state = decay * carry[..., index, :, :] + drive
            tokens = layer.output(tokens, state, c_t, inner, gate)
            states.append(state)
        return jnp.stack(states, axis=-3), self.final_norm(tokens)

    def sequence(
        self, carry: jax.Array, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """T steps: (carry, f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, d])."""
        tokens = self.embed(features_seq)
        finals = []
        for index, layer in enumerate(self.layers):
            decay, drive, c_t, inner, gate = layer.gates(tokens, reset_seq)
            # fold the starting state into the first step's drive
            first = decay[0] * carry[..., index, :, :] + drive[0]
            drive = jnp.concatenate([first[None], drive[1:]], axis=0)
            _, states = jax.lax.associative_scan(_combine, (decay, drive), axis=0)
            tokens = layer.output(tokens, states, c_t, inner, gate)
            finals.append(states[-1])
        return jnp.stack(finals, axis=-3), self.final_norm(tokens)
