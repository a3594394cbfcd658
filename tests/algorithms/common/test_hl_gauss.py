"""HL-Gauss: target histograms by hand and by invariant, expectation, loss gradient."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from marlax.algorithms.common.hl_gauss import (
    HLGauss,
    bin_centres,
    bin_edges,
    cross_entropy,
    expected_value,
    target_probs,
)
from marlax.errors import ConfigError

# standard normal CDF values from a table: Phi(0.5), Phi(1.5), Phi(2.5)
PHI_05, PHI_15, PHI_25 = 0.69146246, 0.93319280, 0.99379033


def test_edges_and_centres_by_hand():
    np.testing.assert_allclose(bin_edges(-1.0, 2.0, 3), [-1.0, 0.0, 1.0, 2.0])
    np.testing.assert_allclose(bin_centres(-1.0, 2.0, 3), [-0.5, 0.5, 1.5])


def test_three_bins_by_hand():
    """[0, 3] in 3 bins of width 1, sigma = 1 bin: the CDF at the edges read from a table."""
    # target 1.5 (middle of bin 1): edges at z = -1.5, -0.5, 0.5, 1.5
    side, middle = PHI_15 - PHI_05, PHI_05 - (1 - PHI_05)
    total = PHI_15 - (1 - PHI_15)
    expected_middle = [side / total, middle / total, side / total]
    # target 0.5 (middle of bin 0): edges at z = -0.5, 0.5, 1.5, 2.5
    masses = [PHI_05 - (1 - PHI_05), PHI_15 - PHI_05, PHI_25 - PHI_15]
    expected_low = [m / (PHI_25 - (1 - PHI_05)) for m in masses]
    probs = target_probs(jnp.array([1.5, 0.5]), 0.0, 3.0, 3, 1.0)
    np.testing.assert_allclose(probs, [expected_middle, expected_low], rtol=1e-5)
    np.testing.assert_allclose(probs[1], [0.558808, 0.352761, 0.088431], atol=2e-6)


@pytest.mark.parametrize("sigma_fraction", [0.5, 0.75, 1.0])
def test_projection_sums_to_one_and_keeps_the_mean(sigma_fraction):
    """Well inside the range (> 5 sigma from either end, so the truncation at the range ends
    is below f32 resolution) the histogram's mean misses the target only by the binning of a
    Gaussian. By Poisson summation that error is at most (w / pi) exp(-2 pi^2 (sigma / w)^2)
    (the k = 1 term; k >= 2 is below 1e-8 here): 9.0e-4 at sigma = w / 2 and 1.9e-6 at
    0.75 w, the paper's setting. 1e-5 covers f32 rounding of the centres (|c| <= 10)."""
    low, high, bins = -10.0, 10.0, 51
    width = (high - low) / bins
    targets = jnp.linspace(-8.0, 8.0, 1001)
    probs = target_probs(targets, low, high, bins, sigma_fraction)
    assert probs.shape == (1001, bins)
    assert bool(jnp.all(probs >= 0.0))
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    binning_bound = width / math.pi * math.exp(-2 * math.pi**2 * sigma_fraction**2)
    error = jnp.abs(probs @ bin_centres(low, high, bins) - targets)
    assert float(error.max()) <= binning_bound + 1e-5


def test_out_of_range_targets_are_clipped_to_the_ends():
    probs = target_probs(jnp.array([100.0, 1.0, -7.0, -1.0]), -1.0, 1.0, 5, 0.75)
    np.testing.assert_array_equal(probs[0], probs[1])
    np.testing.assert_array_equal(probs[2], probs[3])
    # a target at the end puts most mass in the end bin and none outside the range
    assert int(jnp.argmax(probs[0])) == 4 and int(jnp.argmax(probs[2])) == 0
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("bin_index", [0, 3, 6])
def test_expected_value_of_a_peaked_histogram_is_the_bin_centre(bin_index):
    logits = 50.0 * jax.nn.one_hot(bin_index, 7)  # other bins get e^-50 of the mass
    centres = bin_centres(-3.5, 3.5, 7)
    np.testing.assert_allclose(expected_value(logits, -3.5, 3.5), centres[bin_index], atol=1e-6)
    uniform = expected_value(jnp.zeros((2, 4, 7)), -3.5, 3.5)
    np.testing.assert_allclose(uniform, jnp.zeros((2, 4)), atol=1e-6)


def _loss_inputs():
    logits = jax.random.normal(jax.random.key(3), (4, 3, 5))
    targets = jnp.array([[-2.0, 0.3, 5.0], [1.1, -0.7, 0.0], [0.2, 0.9, -1.9], [3.0, 0.5, 1.0]])
    weight = jnp.ones((4, 3)).at[:, 2].set(0.0)  # the third agent is padding
    return logits, targets, weight


def test_loss_gradient_is_softmax_minus_target_and_matches_finite_differences():
    logits, targets, weight = _loss_inputs()

    def loss(logits):
        return cross_entropy(logits, targets, weight, -2.0, 2.0, 0.75)

    grads = jax.grad(loss)(logits)
    probs = target_probs(targets, -2.0, 2.0, 5, 0.75)
    expected = (jax.nn.softmax(logits) - probs) * weight[..., None] / weight.sum()
    np.testing.assert_allclose(grads, expected, atol=1e-6)
    check_grads(loss, (logits,), order=1, modes=("rev",), atol=1e-2, rtol=1e-2, eps=1e-2)


def test_loss_ignores_padding_and_sends_no_gradient_to_targets():
    logits, targets, weight = _loss_inputs()
    garbage = logits.at[:, 2].set(1e3)  # padded agents' logits must not matter
    full = cross_entropy(logits, targets, weight, -2.0, 2.0, 0.75)
    np.testing.assert_allclose(cross_entropy(garbage, targets, weight, -2.0, 2.0, 0.75), full)
    target_grad = jax.grad(lambda y: cross_entropy(logits, y, weight, -2.0, 2.0, 0.75))(targets)
    np.testing.assert_array_equal(target_grad, jnp.zeros_like(targets))


def test_loss_is_smallest_at_the_target_histogram():
    """Cross-entropy is minimised (at the targets' entropy) by logits = log p."""
    _, targets, weight = _loss_inputs()
    probs = target_probs(targets, -2.0, 2.0, 5, 0.75)
    log_probs = jnp.log(jnp.maximum(probs, 1e-30))  # far-tail bins hold exactly 0
    best = cross_entropy(log_probs, targets, weight, -2.0, 2.0, 0.75)
    entropy = -jnp.sum(jax.scipy.special.xlogy(probs, probs), -1)
    np.testing.assert_allclose(best, jnp.sum(entropy * weight) / weight.sum(), rtol=1e-5)
    noisy = log_probs + 0.1 * jax.random.normal(jax.random.key(1), probs.shape)
    assert float(cross_entropy(noisy, targets, weight, -2.0, 2.0, 0.75)) > float(best)


def test_settings_bundle_matches_the_functions_and_checks_its_fields():
    spec = HLGauss(-2.0, 2.0, 5, 0.75)
    logits, targets, weight = _loss_inputs()
    np.testing.assert_array_equal(spec.value(logits), expected_value(logits, -2.0, 2.0))
    np.testing.assert_array_equal(
        spec.loss(logits, targets, weight), cross_entropy(logits, targets, weight, -2, 2, 0.75)
    )
    with pytest.raises(ConfigError, match="value_range"):
        HLGauss(1.0, 1.0, 5, 0.75)
    with pytest.raises(ConfigError, match="value_bins"):
        HLGauss(-1.0, 1.0, 1, 0.75)
    with pytest.raises(ConfigError, match="value_sigma"):
        HLGauss(-1.0, 1.0, 5, 0.0)
