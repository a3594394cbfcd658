"""The recurrent model interface shared by every policy/value network.

A model is an encoder (observation -> features), a memory core (features + carry -> hidden)
and a policy/value head (hidden -> (policy output, value)). PPO only sees this interface:

    carry = model.initialize_carry(batch_shape)
    carry, (logits, value) = model.apply(params, carry, obs, reset)                 # one step
    carry, (logits, value) = model.apply(params, carry, obs_seq, reset_seq, method="sequence")

Shapes: `obs` is `[*batch, *obs_shape]` (obs_shape `[D]` for vectors, `[V, V, C]` for id grids),
`reset` is `bool[*batch]`; sequences are time-major: `obs_seq [T, *batch, *obs_shape]`,
`reset_seq bool[T, *batch]`. `reset[b]` True means this step starts a new episode, so the
memory is cleared before the step. `logits` is `f32[*batch, A]` (or a `GaussianParams` of two
`f32[*batch, A]` for continuous actions), `value` is `f32[*batch]`; sequences add a leading `T`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.precision import cast_floating, cast_parameters, compute_dtype
from marlax.validate import is_int, require

Carry = Any
"""A pytree of arrays whose leaves lead with the batch shape."""

PolicyOutput = Any
"""`f32[*batch, A]` logits, or `GaussianParams(mean, log_std)` for continuous actions."""

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": nn.tanh,
    "relu": nn.relu,
    "gelu": nn.gelu,
    "silu": nn.silu,
}


def flat_dot_general(
    lhs: jax.Array,
    rhs: jax.Array,
    dimension_numbers: Any,
    precision: Any = None,
    preferred_element_type: Any = None,
    **kwargs: Any,
) -> jax.Array:
    """`nn.Dense`'s contraction x[..., D] @ W[D, F] on x flattened to 2-D, then reshaped back.

    Pass as `nn.Dense(..., dot_general=flat_dot_general)`: the result is the same, but XLA:CPU
    runs the backward of a 2-D matmul about 2x faster than that of a [T, K, D] one (the kernel
    gradient then contracts two batch axes): measured on PPO minibatches.
    """
    contracting, batch = dimension_numbers
    if tuple(map(tuple, contracting)) != ((lhs.ndim - 1,), (0,)) or any(batch):
        raise ValueError(
            f"flat_dot_general only does nn.Dense's x[..., D] @ W[D, F], got {dimension_numbers}"
        )
    flat = lhs.reshape((-1, lhs.shape[-1]))
    out = jax.lax.dot_general(
        flat, rhs, (((1,), (0,)), ((), ())), precision, preferred_element_type, **kwargs
    )
    return out.reshape((*lhs.shape[:-1], *rhs.shape[1:]))


def dense(features: int, **kwargs: Any) -> nn.Dense:
    """`nn.Dense` with `flat_dot_general` (same parameters, same values, faster backward)."""
    return nn.Dense(features, dot_general=flat_dot_general, **kwargs)


def require_activation(field: str, value: Any) -> None:
    """An activation setting must name one of `ACTIVATIONS`."""
    require(value in ACTIVATIONS, field, value, f"one of {sorted(ACTIVATIONS)}")


def require_int_tuple(field: str, value: Any, *, allow_empty: bool) -> None:
    """A tuple of integers >= 1 (layer sizes, vocabulary sizes)."""
    ok = isinstance(value, tuple) and all(is_int(size) and size >= 1 for size in value)
    expected = "a tuple of integers >= 1" + ("" if allow_empty else " (at least one)")
    require(ok and (allow_empty or len(value) >= 1), field, value, expected)


def lead_axes(array: jax.Array, num_axes: int) -> jax.Array:
    """Prepend `num_axes` size-1 axes (explicit broadcasting under rank_promotion='raise')."""
    return array.reshape((1,) * num_axes + array.shape)


def reset_carry(carry: jax.Array, reset: jax.Array) -> jax.Array:
    """Zero the rows of a carry where an episode starts.

    Args:
        carry: f32[*batch, ...] one recurrent state per batch element.
        reset: bool[*batch].

    Returns:
        f32[*batch, ...] with `carry[b] = 0` wherever `reset[b]`.
    """
    mask = reset.reshape(reset.shape + (1,) * (carry.ndim - reset.ndim))
    return jnp.where(mask, jnp.zeros_like(carry), carry)


class Core(Protocol):
    """A memory core: what differs between MLP, GRU, Transformer and SSM models.

    features: f32[*batch, D] per step, f32[T, *batch, D] per sequence; hidden has H for D.
    Under a bf16 model, features arrive in bf16 and the carry in f32 (as stored): a core casts
    the carry to the features' dtype where it computes with it, and may return it in either.
    """

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry:
        """An empty memory for a batch of episodes that have not started yet."""
        ...

    def __call__(self, carry: Carry, features: jax.Array, reset: jax.Array) -> tuple[Carry, Any]:
        """One step: (carry, f32[*batch, D], bool[*batch]) -> (carry, f32[*batch, H])."""
        ...

    def sequence(
        self, carry: Carry, features_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[Carry, Any]:
        """T steps: (carry, f32[T, *batch, D], bool[T, *batch]) -> (carry, f32[T, *batch, H])."""
        ...


class RecurrentModel(nn.Module):
    """encoder -> memory core -> policy/value head, behind the one recurrent interface.

    Attributes:
        encoder: maps `[..., *obs_shape]` observations to `f32[..., D]`; has `obs_rank`.
        core: a `Core` (MLPCore, GRUCore, TransformerCore, SSMCore, S5Core).
        head: maps `f32[..., H]` to `(policy output, f32[...] value)`.
        dtype: compute dtype, "float32" or "bfloat16". In bf16 the parameters stay f32 (as
            created by `init` and held by the optimiser), `apply` computes with a bf16 copy,
            and the outputs and carry come back f32 (`marlax.models.precision`).
        next_obs: None, or a self-supervised `marlax.models.next_obs.NextObsHead` on the
            core's output and the action (`sequence_with_next_obs`); `init` creates its
            parameters.

    Example:
        model = make_model("gru", num_actions=5)
        carry = model.initialize_carry((num_envs, num_agents))
        params = model.init(init_key, carry, obs, reset)
        carry, (logits, value) = model.apply(params, carry, obs, reset)
    """

    encoder: nn.Module
    core: nn.Module
    head: nn.Module
    dtype: str = "float32"
    next_obs: nn.Module | None = None

    def __post_init__(self) -> None:
        compute_dtype("model.dtype", self.dtype)
        super().__post_init__()

    @nn.nowrap
    def apply(self, variables: Any, *args: Any, **kwargs: Any) -> Any:
        """`nn.Module.apply`, on a copy of the float variables cast to the compute dtype
        (except `precision.FLOAT32_PARAMS`).

        The cast is part of the traced function, so gradients with respect to `variables`
        are f32 for f32 parameters. In float32 this is exactly `nn.Module.apply`.
        """
        if self.dtype != "float32":
            variables = cast_parameters(variables, compute_dtype("model.dtype", self.dtype))
        return super().apply(variables, *args, **kwargs)

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry:
        """The memory at the start of an episode for every element of `batch_shape`."""
        return self.core.initialize_carry(tuple(batch_shape))

    def __call__(
        self, carry: Carry, obs: jax.Array, reset: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """One step.

        Args:
            carry: from `initialize_carry(batch_shape)` or the previous step.
            obs: [*batch, *obs_shape] (f32 vectors or i32 id grids).
            reset: bool[*batch], True where this step starts an episode.

        Returns:
            (carry, (logits f32[*batch, A] or GaussianParams, value f32[*batch])).
        """
        chex.assert_shape(reset, obs.shape[: obs.ndim - self.encoder.obs_rank])
        features = self.encoder(cast_floating(obs, compute_dtype("model.dtype", self.dtype)))
        carry, hidden = self.core(carry, features, reset)
        if self.next_obs is not None and self.is_initializing():
            self.next_obs(hidden, self.next_obs.dummy_action(reset.shape))  # creates its parameters
        # losses and stored carries are f32 whatever the compute dtype
        return cast_floating((carry, self.head(hidden)), jnp.float32)

    def sequence(
        self, carry: Carry, obs_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """T steps at once, equal to T calls of `__call__` (time-major).

        Args:
            carry: the memory before the first step.
            obs_seq: [T, *batch, *obs_shape].
            reset_seq: bool[T, *batch].

        Returns:
            (carry after the last step, (logits f32[T, *batch, A], value f32[T, *batch])).
        """
        chex.assert_shape(reset_seq, obs_seq.shape[: obs_seq.ndim - self.encoder.obs_rank])
        obs_seq = cast_floating(obs_seq, compute_dtype("model.dtype", self.dtype))
        features_seq = self.encoder(obs_seq)
        carry, hidden_seq = self.core.sequence(carry, features_seq, reset_seq)
        return cast_floating((carry, self.head(hidden_seq)), jnp.float32)

    def sequence_with_next_obs(
        self, carry: Carry, obs_seq: jax.Array, reset_seq: jax.Array, action_seq: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array, jax.Array]]:
        """`sequence`, plus the next-observation head's prediction at every step.

        Args:
            action_seq: i32[T, *batch] (or f32[T, *batch, A]) the action taken at each step.

        Returns:
            (carry, (policy output, value f32[T, *batch], predicted next observation
            f32[T, *batch, D])).
        """
        if self.next_obs is None:
            raise ValueError("this model has no next-observation head (next_obs_head=False)")
        chex.assert_shape(reset_seq, obs_seq.shape[: obs_seq.ndim - self.encoder.obs_rank])
        dtype = compute_dtype("model.dtype", self.dtype)
        features_seq = self.encoder(cast_floating(obs_seq, dtype))
        carry, hidden_seq = self.core.sequence(carry, features_seq, reset_seq)
        predicted = self.next_obs(hidden_seq, cast_floating(action_seq, dtype))
        policy_output, value = self.head(hidden_seq)
        return cast_floating((carry, (policy_output, value, predicted)), jnp.float32)
