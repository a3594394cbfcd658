"""HL-Gauss: a value function learned as a histogram by classification.

Farebrother et al. 2024, "Stop Regressing: Training Value Functions via Classification for
Scalable Deep RL", sec. 3 (the "Histogram Loss" with Gaussian smoothing, Imani & White 2018).
The critic outputs `bins` logits over `[low, high]` split into equal bins; its value is the
expectation of the bin centres under their softmax. The scalar target y (a GAE return) becomes
a histogram: the mass of N(clip(y, low, high), s^2) in each bin, renormalised to the range,

    p_i = (Phi((e_{i+1} - y) / s) - Phi((e_i - y) / s)) / Z,
    Z = Phi((e_bins - y) / s) - Phi((e_0 - y) / s),

with edges e_0 = low < ... < e_bins = high and s = sigma_fraction * bin width (0.75 in the
paper: the smoothing spreads mass over about 3 bins). The loss is the cross-entropy
-sum_i p_i log softmax(logits)_i, with p held constant (a stop-gradient).

PPO selects this head with `ppo.value_head = "hl_gauss"` (`ppo.value_bins`, `ppo.value_range`,
`ppo.value_sigma`); `HLGauss` bundles those settings, the functions below take them plainly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.common.losses import masked_mean
from marlax.validate import require, require_int_at_least, require_number, require_positive


def bin_edges(low: float, high: float, bins: int) -> jax.Array:
    """f32[bins + 1]: e_0 = low, ..., e_bins = high, equally spaced (computed in f64 on the
    host, so an edge at 0 is exactly 0)."""
    return jnp.asarray(np.linspace(low, high, bins + 1), jnp.float32)


def bin_centres(low: float, high: float, bins: int) -> jax.Array:
    """f32[bins]: (e_i + e_{i+1}) / 2, the value each bin stands for."""
    edges = np.linspace(low, high, bins + 1)
    return jnp.asarray(0.5 * (edges[:-1] + edges[1:]), jnp.float32)


def target_probs(
    target: jax.Array, low: float, high: float, bins: int, sigma_fraction: float
) -> jax.Array:
    """The Gaussian-smoothed histogram of a scalar target (see the module docstring).

    Args:
        target: f32[...] scalar targets; clipped to [low, high] first.
        low, high: the range the histogram covers.
        bins: the number of bins.
        sigma_fraction: the Gaussian's standard deviation in bin widths.

    Returns:
        f32[..., bins], non-negative, summing to 1 over the last axis. No gradient flows to
        `target`.
    """
    target = jax.lax.stop_gradient(jnp.clip(target.astype(jnp.float32), low, high))
    sigma = sigma_fraction * (high - low) / bins
    edges = bin_edges(low, high, bins).reshape((1,) * target.ndim + (bins + 1,))
    # erf is 2 Phi(sqrt(2) z) - 1: the affine change cancels in the ratio of differences
    cdf = jax.scipy.special.erf((edges - target[..., None]) / (math.sqrt(2.0) * sigma))
    # f32 erf is monotone only up to an ulp: far-tail differences can come out -6e-8
    mass = jnp.maximum(cdf[..., 1:] - cdf[..., :-1], 0.0)
    # sum(mass) = cdf[e_bins] - cdf[e_0] >= ~1/2 (the clipped target lies in the range)
    return mass / jnp.sum(mass, axis=-1, keepdims=True)


def expected_value(logits: jax.Array, low: float, high: float) -> jax.Array:
    """The histogram's value: sum_i softmax(logits)_i * centre_i.

    Args:
        logits: [..., bins] (any float dtype; computed in f32).

    Returns:
        f32[...], inside [centre_0, centre_{bins-1}].
    """
    centres = bin_centres(low, high, logits.shape[-1])
    return jax.nn.softmax(logits.astype(jnp.float32), axis=-1) @ centres


def cross_entropy(
    logits: jax.Array,
    target: jax.Array,
    weight: jax.Array,
    low: float,
    high: float,
    sigma_fraction: float,
) -> jax.Array:
    """The HL-Gauss value loss: masked mean of -sum_i p_i(target) log softmax(logits)_i.

    Args:
        logits: [..., bins] value logits (any float dtype; computed in f32).
        target: f32[...] scalar targets (returns), held constant.
        weight: f32[...] 1 for real agents, 0 for padding (as `losses.masked_mean`).

    Returns:
        f32[]. Its minimum is the targets' entropy, not 0.
    """
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    probs = target_probs(target, low, high, logits.shape[-1], sigma_fraction)
    return masked_mean(-jnp.sum(probs * log_probs, axis=-1), weight)


@dataclass(frozen=True)
class HLGauss:
    """The settings of an HL-Gauss value head (hashable: it sits on static `Networks`).

    Attributes:
        low, high: the range of values the histogram covers (low < high).
        bins: the number of bins (>= 2).
        sigma_fraction: Gaussian smoothing of targets in bin widths (> 0).
    """

    low: float
    high: float
    bins: int
    sigma_fraction: float

    def __post_init__(self) -> None:
        require_number("value_range", self.low)
        require_number("value_range", self.high)
        require(self.low < self.high, "value_range", (self.low, self.high), "low < high")
        require_int_at_least("value_bins", self.bins, 2)
        require_positive("value_sigma", self.sigma_fraction)

    def value(self, logits: jax.Array) -> jax.Array:
        """[..., bins] logits -> f32[...] expected value."""
        return expected_value(logits, self.low, self.high)

    def loss(self, logits: jax.Array, target: jax.Array, weight: jax.Array) -> jax.Array:
        """[..., bins] logits, f32[...] targets and weights -> f32[] masked cross-entropy."""
        return cross_entropy(logits, target, weight, self.low, self.high, self.sigma_fraction)
