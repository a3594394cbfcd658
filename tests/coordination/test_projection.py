"""AdaptiveProjection: budget conservation, masks, gradients, config errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from marlax.coordination import AdaptiveProjection
from marlax.errors import ConfigError


@pytest.fixture
def setup(key):
    states = jax.random.normal(key, (2, 5, 6))
    module = AdaptiveProjection(complexity_dim=4, initial_budget=3.0)
    return module, module.init(jax.random.key(1), states), states


def test_allocation_sums_to_budget(setup):
    module, params, states = setup
    resources, metrics = module.apply(params, states)
    assert resources.shape == (2, 5, 4)
    assert bool(jnp.all(resources >= 0))
    np.testing.assert_allclose(resources.sum(-1), 3.0, rtol=1e-5)
    np.testing.assert_allclose(metrics["resource_mean"], 3.0 / 4, rtol=1e-5)
    assert 0.0 <= float(metrics["complexity_entropy"]) <= np.log(4) + 1e-6


def test_masks_zero_the_agent_and_change_nothing_else(setup):
    module, params, states = setup
    mask = jnp.ones((2, 5), bool).at[1, 2].set(False)
    resources, _ = module.apply(params, states.at[1, 2].set(1e5), mask)
    reference, _ = module.apply(params, states)
    np.testing.assert_array_equal(resources[1, 2], 0.0)
    keep = np.asarray(mask)
    np.testing.assert_allclose(resources[keep], reference[keep], rtol=1e-6)


def test_gain_is_identity_at_init(setup):
    module, params, states = setup
    _, gain, _ = module.apply(params, states, method=AdaptiveProjection.allocate)
    np.testing.assert_allclose(gain, 1.0, rtol=1e-5)


def test_standardisation_makes_allocation_scale_free(setup):
    module, params, states = setup
    scaled, _ = module.apply(params, 7.0 * states + 2.0)
    reference, _ = module.apply(params, states)
    np.testing.assert_allclose(scaled, reference, rtol=1e-4, atol=1e-6)


def test_gradients_match_finite_differences(setup):
    module, params, states = setup
    weights = jnp.linspace(-1.0, 1.0, 4)
    with jax.enable_x64(True):
        params64 = jax.tree.map(lambda p: jnp.asarray(p, jnp.float64), params)
        states64 = jnp.asarray(states, jnp.float64)

        def loss(params, states):
            resources, _ = module.apply(params, states)
            return jnp.sum(resources**2 * weights[None, None, :])

        check_grads(
            loss, (params64, states64), order=1, modes=["rev"], eps=1e-5, atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize(
    "settings", [{"complexity_dim": 0}, {"complexity_dim": 2.5}, {"initial_budget": 0.0}]
)
def test_bad_settings_raise_config_error(settings):
    with pytest.raises(ConfigError):
        AdaptiveProjection(**settings)
