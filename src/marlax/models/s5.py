"""An S5 core: stacked diagonal complex state-space layers (Smith, Warrington & Linderman 2023).

Per layer, with z = LayerNorm(x) (H = d_model channels) and P complex states:

    Lambda = Lambda_re + i Lambda_im                     c64[P]  (HiPPO-LegS, diagonalised)
    dt     = exp(log_step)                               f32[P]  (one timescale per state)
    Lambda_bar = exp(Lambda dt)                          (zero-order hold, S5 eq. 6)
    B_bar      = (Lambda_bar - 1) / Lambda * B           c64[P, H]
    h_t = Lambda_bar h_{t-1} + B_bar z_t                 (Lambda_bar := 0 where reset_t)
    y_t = 2 Re(C h_t) + D z_t   (conj_sym; Re(C h_t) + D z_t otherwise)
    x   = x + GLU(y_t)          (pre-norm residual; "half_glu1" by default)

As in the reference code (github.com/lindermanlab/S5, `s5/ssm.py`, `s5/ssm_init.py`,
`s5/layers.py`): Lambda starts at the eigenvalues of the normal part of HiPPO-LegS (real parts
all -1/2), optionally repeated on `blocks` diagonal blocks; B and C start as V^-1 B and C V for
the eigenvectors V; with `conj_sym` only one eigenvalue of each conjugate pair is kept (P =
state_size / 2) and the output doubles the real part. The recurrence is an associative scan over
(Lambda_bar, B_bar z) pairs: a reset sets that step's multiplier to 0, so the composed operator
drops everything before it exactly and episodes may end anywhere in a sequence.

Under a bf16 model the projections (B z, C h, GLU) run in bf16 while the discretisation and
the recurrence stay f32/complex64; the carry is stored as f32[*batch, layers, P, 2] (real,
imaginary), since carries are float arrays everywhere else.
"""

from __future__ import annotations

import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.nn.initializers import lecun_normal, normal, variance_scaling

from marlax.models.base import dense, lead_axes
from marlax.validate import (
    require,
    require_bool,
    require_choice,
    require_number,
    require_positive,
    require_positive_int,
)

S5_ACTIVATIONS = ("half_glu1", "half_glu2", "full_glu", "gelu")
"""The reference's layer activations (`s5/layers.py`); "half_glu1" is its default."""
CLIPPED_REAL_PART = -1e-4
"""With `clip_eigs`, Re(Lambda) <= this: the state decays however long an episode runs."""


def hippo_legs(size: int) -> np.ndarray:
    """The HiPPO-LegS state matrix A f64[N, N] (Gu et al. 2020), with its sign: x' = A x + B u.

    A[n, k] = -sqrt(2n+1) sqrt(2k+1) for n > k, -(n+1) on the diagonal, 0 above.
    """
    root = np.sqrt(1.0 + 2.0 * np.arange(size))
    lower = np.tril(root[:, None] * root[None, :]) - np.diag(np.arange(size))
    return -lower


def diagonalised_hippo(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues c128[N] and unitary eigenvectors c128[N, N] of HiPPO-LegS's normal part.

    A + P P^T with P = sqrt(n + 1/2) (the NPLR form) is -1/2 I plus a skew-symmetric matrix, so
    its eigenvalues are -1/2 + i w with w the eigenvalues of the Hermitian -i * skew, in
    ascending order (`make_DPLR_HiPPO` in the reference, which reads them off `eigh`).
    """
    low_rank = np.sqrt(np.arange(size) + 0.5)
    normal_part = hippo_legs(size) + low_rank[:, None] * low_rank[None, :]
    real_part = np.mean(np.diagonal(normal_part))
    skew = normal_part - np.diag(np.diagonal(normal_part))
    frequencies, eigenvectors = np.linalg.eigh(-1j * skew)
    return real_part + 1j * frequencies, eigenvectors


@functools.cache
def initial_state_matrix(
    state_size: int, blocks: int, conj_sym: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The initial Lambda c128[P] and eigenvector matrix V c128[state_size, P] (`s5/train.py`).

    Each of the `blocks` diagonal blocks holds the diagonalised HiPPO-LegS of size
    state_size / blocks; with `conj_sym` each block keeps the first half of its eigenvalues
    (one of each conjugate pair) and of V's columns, so P = state_size / 2.
    """
    block_size = state_size // blocks
    eigenvalues, eigenvectors = diagonalised_hippo(block_size)
    kept = block_size // 2 if conj_sym else block_size
    eigenvalues, eigenvectors = eigenvalues[:kept], eigenvectors[:, :kept]
    return np.tile(eigenvalues, blocks), np.kron(np.eye(blocks), eigenvectors)


def discretize_zoh(eigenvalues: jax.Array, step: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Zero-order hold of x' = Lambda x + B u over `step`: (Lambda_bar, input scale), both c64[P].

    Lambda_bar = exp(Lambda dt) and B_bar = (Lambda_bar - 1) / Lambda * B (S5 eq. 6; the input
    scale multiplies each row of B). expm1 keeps the scale accurate for dt |Lambda| << 1.
    """
    exponent = eigenvalues * step
    return jnp.exp(exponent), jnp.expm1(exponent) / eigenvalues


def _combine(
    earlier: tuple[jax.Array, jax.Array], later: tuple[jax.Array, jax.Array]
) -> tuple[jax.Array, jax.Array]:
    """Compose h -> a1 h + b1 then h -> a2 h + b2 into h -> a2 a1 h + (a2 b1 + b2)."""
    a_first, b_first = earlier
    a_second, b_second = later
    return a_second * a_first, a_second * b_first + b_second


def _as_complex(pairs: jax.Array) -> jax.Array:
    """f32[..., 2] (real, imaginary) -> c64[...]."""
    pairs = pairs.astype(jnp.float32)
    return jax.lax.complex(pairs[..., 0], pairs[..., 1])


def _as_pairs(values: jax.Array) -> jax.Array:
    """c64[...] -> f32[..., 2] (real, imaginary)."""
    return jnp.stack([jnp.real(values), jnp.imag(values)], axis=-1)


def _flat_matmul(inputs: jax.Array, weights: jax.Array) -> jax.Array:
    """[..., K] @ [K, F] as one 2-D matmul (its backward is ~2x faster on XLA:CPU)."""
    flat = inputs.reshape((-1, inputs.shape[-1])) @ weights
    return flat.reshape((*inputs.shape[:-1], weights.shape[-1]))


class _S5Layer(nn.Module):
    """One pre-norm residual S5 layer; `gates` and `output` are shared by both paths."""

    d_model: int
    state_size: int
    blocks: int
    conj_sym: bool
    clip_eigs: bool
    dt_min: float
    dt_max: float
    activation: str

    def setup(self) -> None:
        eigenvalues, eigenvectors = initial_state_matrix(
            self.state_size, self.blocks, self.conj_sym
        )
        states = eigenvalues.shape[0]

        def fixed(values: np.ndarray):
            """An initialiser that ignores its key: the HiPPO eigenvalues are deterministic."""
            return lambda key, shape: jnp.asarray(values, jnp.float32)

        def input_matrix(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
            """B~ = V^-1 B for B lecun-normal f32[state_size, H]: f32[P, H, 2]."""
            real = lecun_normal()(key, (self.state_size, self.d_model))
            return _as_pairs(jnp.asarray(eigenvectors.conj().T, jnp.complex64) @ real)

        def output_matrix(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
            """C~ = C V for C truncated-normal, std 1/sqrt(state_size) per row: f32[H, P, 2]."""
            row_init = variance_scaling(1.0, "fan_in", "truncated_normal", batch_axis=(0,))
            drawn = _as_complex(row_init(key, (self.d_model, self.state_size, 2)))
            return _as_pairs(drawn @ jnp.asarray(eigenvectors, jnp.complex64))

        def log_steps(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
            """log dt f32[P], uniform in [log dt_min, log dt_max] (`init_log_steps`)."""
            low, high = np.log(self.dt_min), np.log(self.dt_max)
            return jax.random.uniform(key, shape, jnp.float32, low, high)

        self.lambda_re = self.param("lambda_re", fixed(eigenvalues.real), (states,))
        self.lambda_im = self.param("lambda_im", fixed(eigenvalues.imag), (states,))
        self.log_step = self.param("log_step", log_steps, (states,))
        self.input_matrix = self.param("input_matrix", input_matrix, (states, self.d_model, 2))
        self.output_matrix = self.param("output_matrix", output_matrix, (self.d_model, states, 2))
        self.feedthrough = self.param("feedthrough", normal(1.0), (self.d_model,))
        self.norm = nn.LayerNorm()
        self.gate = dense(self.d_model) if self.activation != "gelu" else None
        self.value = dense(self.d_model) if self.activation == "full_glu" else None

    def discretized(self) -> tuple[jax.Array, jax.Array]:
        """(Lambda_bar, input scale) c64[P], in f32 whatever the compute dtype."""
        real = self.lambda_re.astype(jnp.float32)
        if self.clip_eigs:
            real = jnp.minimum(real, CLIPPED_REAL_PART)
        eigenvalues = jax.lax.complex(real, self.lambda_im.astype(jnp.float32))
        return discretize_zoh(eigenvalues, jnp.exp(self.log_step.astype(jnp.float32)))

    def gates(self, tokens: jax.Array, reset: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        """f32[..., H], bool[...] -> decay, drive c64[..., P]; normed input f32[..., H].

        B~ z runs as one real matmul in the tokens' dtype; the decay (0 where reset) and the
        drive B_bar z are complex64.
        """
        normed = self.norm(tokens)
        decay, input_scale = self.discretized()
        weights = self.input_matrix.astype(normed.dtype)
        stacked = jnp.concatenate([weights[..., 0].T, weights[..., 1].T], axis=-1)  # [H, 2P]
        projected = _flat_matmul(normed, stacked).astype(jnp.float32)
        real, imag = jnp.split(projected, 2, axis=-1)
        drive = lead_axes(input_scale, normed.ndim - 1) * jax.lax.complex(real, imag)
        decay = jnp.broadcast_to(lead_axes(decay, normed.ndim - 1), drive.shape)
        decay = jnp.where(reset[..., None], jnp.zeros_like(decay), decay)
        return decay, drive, normed

    def output(self, tokens: jax.Array, state: jax.Array, normed: jax.Array) -> jax.Array:
        """Read the state c64[..., P] out into the residual stream f32[..., H].

        Re(C h) = [Re h, Im h] @ [Re C; -Im C]^T, one real matmul in the compute dtype.
        """
        weights = self.output_matrix.astype(normed.dtype)
        stacked = jnp.concatenate([weights[..., 0].T, -weights[..., 1].T], axis=0)  # [2P, H]
        pairs = jnp.concatenate([jnp.real(state), jnp.imag(state)], axis=-1)
        read = _flat_matmul(pairs.astype(normed.dtype), stacked)
        if self.conj_sym:
            read = 2 * read
        mixed = read + lead_axes(self.feedthrough, normed.ndim - 1) * normed
        return tokens + self._activate(mixed)

    def _activate(self, mixed: jax.Array) -> jax.Array:
        """The reference's GLU variants (`s5/layers.py`, without dropout)."""
        activated = nn.gelu(mixed)
        if self.activation == "half_glu1":
            return activated * jax.nn.sigmoid(self.gate(activated))
        if self.activation == "half_glu2":
            return mixed * jax.nn.sigmoid(self.gate(activated))
        if self.activation == "full_glu":
            return self.value(activated) * jax.nn.sigmoid(self.gate(activated))
        return activated


class S5Core(nn.Module):
    """Stacked S5 layers; the carry is the complex state as f32[*batch, layers, P, 2].

    P = state_size / 2 with `conj_sym`, else state_size. There is no final norm, as in the
    reference's `StackedEncoderModel`.

    Attributes:
        d_model: H, residual width (and the output size).
        state_size: the reference's P before conjugate halving (its `ssm_size_base`).
        num_layers: stacked layers.
        blocks: diagonal blocks of the initial HiPPO-LegS (each of size state_size / blocks).
        dt_min: smallest initial timescale (log_step drawn log-uniformly in [dt_min, dt_max]).
        dt_max: largest initial timescale.
        conj_sym: keep one eigenvalue per conjugate pair and output 2 Re(C h).
        clip_eigs: keep Re(Lambda) <= -1e-4, so the state stays bounded over any episode
            length (the reference recommends it for unbounded sequences; its default is off).
        activation: one of `S5_ACTIVATIONS`.
    """

    d_model: int = 64
    state_size: int = 64
    num_layers: int = 2
    blocks: int = 1
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    conj_sym: bool = True
    clip_eigs: bool = True
    activation: str = "half_glu1"

    def __post_init__(self) -> None:
        for field in ("d_model", "state_size", "num_layers", "blocks"):
            require_positive_int(f"core.{field}", getattr(self, field))
        block_divisor = 2 * self.blocks if self.conj_sym else self.blocks
        require(
            self.state_size % block_divisor == 0,
            "core.state_size",
            self.state_size,
            f"a multiple of {block_divisor} (blocks{' x 2 conjugate halves' * self.conj_sym})",
        )
        require_positive("core.dt_min", self.dt_min)
        require_number("core.dt_max", self.dt_max, self.dt_min)
        require_bool("core.conj_sym", self.conj_sym)
        require_bool("core.clip_eigs", self.clip_eigs)
        require_choice("core.activation", self.activation, S5_ACTIVATIONS)
        super().__post_init__()

    @property
    def num_states(self) -> int:
        """P, complex states per layer."""
        return self.state_size // 2 if self.conj_sym else self.state_size

    def setup(self) -> None:
        self.embed = dense(self.d_model)
        self.layers = [
            _S5Layer(
                self.d_model,
                self.state_size,
                self.blocks,
                self.conj_sym,
                self.clip_eigs,
                self.dt_min,
                self.dt_max,
                self.activation,
            )
            for _ in range(self.num_layers)
        ]

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        """f32[*batch, layers, P, 2] zeros."""
        return jnp.zeros((*batch_shape, self.num_layers, self.num_states, 2), jnp.float32)

    def __call__(
        self, carry: jax.Array, features: jax.Array, reset: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """One step: (carry, f32[*batch, D], bool[*batch]) -> (carry, f32[*batch, H]).

        h = Lambda_bar h + B_bar z per layer, with Lambda_bar = 0 where reset.
        """
        tokens = self.embed(features)
        states = []
        for index, layer in enumerate(self.layers):
            decay, drive, normed = layer.gates(tokens, reset)
            state = decay * _as_complex(carry[..., index, :, :]) + drive
            tokens = layer.output(tokens, state, normed)
            states.append(_as_pairs(state))
        return jnp.stack(states, axis=-3), tokens

    def sequence(
        self, carry: jax.Array, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """T steps: (carry, f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, H])."""
        tokens = self.embed(features_seq)
        finals = []
        for index, layer in enumerate(self.layers):
            decay, drive, normed = layer.gates(tokens, reset_seq)
            # fold the starting state into the first step's drive (decay[0] is 0 on a reset)
            first = decay[0] * _as_complex(carry[..., index, :, :]) + drive[0]
            drive = jnp.concatenate([first[None], drive[1:]], axis=0)
            _, states = jax.lax.associative_scan(_combine, (decay, drive), axis=0)
            tokens = layer.output(tokens, states, normed)
            finals.append(_as_pairs(states[-1]))
        return jnp.stack(finals, axis=-3), tokens
