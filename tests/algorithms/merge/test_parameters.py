"""average_parameters: weighted means by hand, integer leaves kept, architecture checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.merge.parameters import average_parameters, normalised_weights
from marlax.errors import ConfigError


def _tree(scale):
    return {
        "dense": {"kernel": jnp.full((2, 3), scale), "bias": jnp.arange(3.0) * scale},
        "count": jnp.int32(7),
    }


def test_weighted_average_by_hand():
    merged = average_parameters([_tree(1.0), _tree(5.0)], [1.0, 3.0])
    np.testing.assert_allclose(merged["dense"]["kernel"], np.full((2, 3), 4.0))
    np.testing.assert_allclose(merged["dense"]["bias"], [0.0, 4.0, 8.0])
    assert merged["count"] == 7 and merged["count"].dtype == jnp.int32


def test_equal_weights_by_default_and_one_member_is_itself():
    merged = average_parameters([_tree(1.0), _tree(2.0), _tree(6.0)])
    np.testing.assert_allclose(merged["dense"]["kernel"], np.full((2, 3), 3.0))
    alone = average_parameters([_tree(2.5)])
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), alone, _tree(2.5)))


def test_different_architectures_name_the_parameter():
    wider = _tree(1.0)
    wider["dense"]["bias"] = jnp.zeros(4)
    with pytest.raises(ConfigError, match=r"\['dense'\]\['bias'\]"):
        average_parameters([_tree(1.0), wider])


@pytest.mark.parametrize("weights", [[1.0], [1.0, -1.0], [0.0, 0.0]])
def test_bad_weights(weights):
    with pytest.raises(ConfigError, match="weights"):
        normalised_weights(weights, 2)
