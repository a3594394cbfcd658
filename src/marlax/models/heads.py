"""Policy and value heads, and the two action distributions PPO needs (written in jnp).

Discrete: `Categorical` over logits with illegal actions pushed to `MASKED_LOGIT`.
Continuous: `DiagGaussian` with a state-dependent mean and a learned, state-independent log-std.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
from flax import struct

from marlax.models.base import dense
from marlax.validate import require_bool, require_number, require_positive_int

MASKED_LOGIT = -1e9
"""Logit given to illegal actions: exp(MASKED_LOGIT - max) is exactly 0 in f32."""

_LOG_2PI = math.log(2.0 * math.pi)


class GaussianParams(NamedTuple):
    """The policy output for continuous actions: mean and log-std, both f32[..., A]."""

    mean: jax.Array
    log_std: jax.Array


def mask_logits(logits: jax.Array, legal_action_mask: jax.Array | None) -> jax.Array:
    """Set illegal logits to `MASKED_LOGIT`.

    Args:
        logits: f32[..., A].
        legal_action_mask: bool[..., A] (True = legal) or None for no mask.

    Returns:
        f32[..., A]. A row with no legal action becomes uniform over all actions.
    """
    if legal_action_mask is None:
        return logits
    return jnp.where(legal_action_mask, logits, jnp.full_like(logits, MASKED_LOGIT))


@struct.dataclass
class Categorical:
    """A categorical distribution over A actions.

    Attributes:
        logits: f32[..., A], already masked (see `mask_logits`).
    """

    logits: jax.Array  # f32[..., A]

    @property
    def log_probs(self) -> jax.Array:
        """f32[..., A] normalised log-probabilities (illegal ones about -1e9)."""
        return jax.nn.log_softmax(self.logits, axis=-1)

    def sample(self, key: jax.Array) -> jax.Array:
        """i32[...] actions; an illegal action has probability exactly 0."""
        return jax.random.categorical(key, self.logits, axis=-1).astype(jnp.int32)

    def mode(self) -> jax.Array:
        """i32[...] the most likely action."""
        return jnp.argmax(self.logits, axis=-1).astype(jnp.int32)

    def log_prob(self, action: jax.Array) -> jax.Array:
        """f32[...] log p(action) for i32[...] actions.

        A one-hot select, not `take_along_axis`: a gather's gradient is a scatter-add, several
        times slower on XLA:CPU inside the PPO loss."""
        chosen = jax.nn.one_hot(action, self.logits.shape[-1], dtype=bool)
        return jnp.sum(jnp.where(chosen, self.log_probs, 0.0), axis=-1)

    def entropy(self) -> jax.Array:
        """f32[...] -sum_a p(a) log p(a); illegal actions (p = 0) add exactly 0."""
        log_probs = self.log_probs
        probs = jnp.exp(log_probs)
        return -jnp.sum(jnp.where(probs > 0, probs * log_probs, 0.0), axis=-1)


@struct.dataclass
class DiagGaussian:
    """A Gaussian with diagonal covariance over A action dimensions.

    Attributes:
        mean: f32[..., A].
        log_std: f32[..., A].
    """

    mean: jax.Array  # f32[..., A]
    log_std: jax.Array  # f32[..., A]

    def sample(self, key: jax.Array) -> jax.Array:
        """f32[..., A] = mean + std * eps, eps ~ N(0, I)."""
        noise = jax.random.normal(key, self.mean.shape, self.mean.dtype)
        return self.mean + jnp.exp(self.log_std) * noise

    def mode(self) -> jax.Array:
        """f32[..., A] the mean."""
        return self.mean

    def log_prob(self, action: jax.Array) -> jax.Array:
        """f32[...] = sum_i -((a_i - mu_i) / sigma_i)^2 / 2 - log sigma_i - log(2 pi) / 2."""
        z = (action - self.mean) * jnp.exp(-self.log_std)
        return jnp.sum(-0.5 * z * z - self.log_std - 0.5 * _LOG_2PI, axis=-1)

    def entropy(self) -> jax.Array:
        """f32[...] = sum_i log sigma_i + (1 + log(2 pi)) / 2."""
        return jnp.sum(self.log_std + 0.5 * (1.0 + _LOG_2PI), axis=-1)


def distribution(
    policy_output: jax.Array | GaussianParams, legal_action_mask: jax.Array | None = None
) -> Categorical | DiagGaussian:
    """The action distribution for a model's policy output.

    Args:
        policy_output: f32[..., A] logits, or `GaussianParams` of two f32[..., A].
        legal_action_mask: bool[..., A] for discrete actions (True = legal), or None.

    Returns:
        `Categorical` (masked) for logits, `DiagGaussian` for `GaussianParams`.
    """
    if isinstance(policy_output, GaussianParams):
        if legal_action_mask is not None:
            raise ValueError("action masks apply to discrete actions only")
        return DiagGaussian(policy_output.mean, policy_output.log_std)
    return Categorical(mask_logits(policy_output, legal_action_mask))


class PolicyValueHead(nn.Module):
    """Hidden features to policy output and value.

    f32[..., H] -> (logits f32[..., A] or GaussianParams, value f32[...]), or with
    `value_bins` > 1 -> (..., value logits f32[..., value_bins]) for a histogram value
    (HL-Gauss, `marlax.algorithms.common.hl_gauss`): the caller turns them into a value.

    Orthogonal initialisation with a small policy gain (0.01) so the initial policy is close
    to uniform / zero-mean, and gain 1 for the value (the PPO implementation details).

    Attributes:
        num_actions: A, the number of discrete actions or the continuous action dimension.
        continuous: False for logits, True for a diagonal Gaussian.
        log_std_init: initial log-std of the Gaussian (continuous only).
        value_bins: 1 for a scalar value (kernel f32[H, 1]); more for that many value logits
            (kernel f32[H, value_bins]; the parameter "value" keeps its name either way).
        policy_init_scale: orthogonal gain of the policy layer (0.01; value-based learners,
            whose policy outputs are Q-values, use 1 so the layers below get gradient at once).
    """

    num_actions: int
    continuous: bool = False
    log_std_init: float = 0.0
    value_bins: int = 1
    policy_init_scale: float = 0.01

    def __post_init__(self) -> None:
        require_positive_int("num_actions", self.num_actions)
        require_bool("continuous", self.continuous)
        require_number("log_std_init", self.log_std_init)
        require_positive_int("value_bins", self.value_bins)
        require_number("policy_init_scale", self.policy_init_scale, 0.0, open_low=True)
        super().__post_init__()

    @nn.compact
    def __call__(self, hidden: jax.Array) -> tuple[jax.Array | GaussianParams, jax.Array]:
        """f32[..., H] -> (logits f32[..., A] or GaussianParams, value f32[...] when
        `value_bins` = 1, else value logits f32[..., value_bins])."""
        policy_init = nn.initializers.orthogonal(self.policy_init_scale)
        value_init = nn.initializers.orthogonal(1.0)
        value = dense(self.value_bins, kernel_init=value_init, name="value")(hidden)
        if self.value_bins == 1:
            value = value[..., 0]
        out = dense(self.num_actions, kernel_init=policy_init, name="policy")(hidden)
        if not self.continuous:
            return out, value
        log_std = self.param(
            "log_std", nn.initializers.constant(self.log_std_init), (self.num_actions,)
        )
        log_std = jnp.broadcast_to(log_std, out.shape)
        return GaussianParams(out, log_std), value
