"""Members trained as one program: vmap over hyperparameters and data weights == a loop."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.ensembles import (
    bootstrap_weights,
    fit_member,
    fit_member_list,
    fit_members,
    subset_weights,
)
from marlax.errors import ConfigError


class TinyClassifier(nn.Module):
    hidden: int = 8
    num_classes: int = 3

    @nn.compact
    def __call__(self, inputs):
        return nn.Dense(self.num_classes)(nn.tanh(nn.Dense(self.hidden)(inputs)))


def _data(key, num_samples=40):
    inputs = jax.random.normal(key, (num_samples, 4))
    targets = (inputs[:, 0] > 0).astype(jnp.int32) + (inputs[:, 1] > 0.5).astype(jnp.int32)
    return inputs, targets


def test_vmapped_members_equal_a_loop_of_single_members(key):
    """Tolerance 1e-5: batched matmuls may reassociate float32 sums; nothing else differs."""
    data_key, weight_key, fit_key = jax.random.split(key, 3)
    inputs, targets = _data(data_key)
    hyper = {
        "learning_rate": jnp.array([1e-2, 3e-2, 1e-1]),
        "weight_decay": jnp.array([0.0, 1e-3, 1e-2]),
    }
    weights = bootstrap_weights(weight_key, 3, inputs.shape[0])
    model = TinyClassifier()
    stacked, curves = fit_members(model, fit_key, inputs, targets, hyper, weights, steps=30)
    member_keys = jax.random.split(fit_key, 3)
    for k in range(3):
        one_hyper = {name: value[k] for name, value in hyper.items()}
        params, curve = fit_member(
            model, member_keys[k], inputs, targets, one_hyper, weights[k], 30
        )
        member = jax.tree.map(lambda leaf, k=k: leaf[k], stacked)
        jax.tree.map(
            lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5), member, params
        )
        np.testing.assert_allclose(curves[k], curve, atol=1e-5, rtol=1e-5)


def test_training_lowers_every_members_loss(key):
    inputs, targets = _data(key)
    hyper = {"learning_rate": jnp.array([1e-2, 5e-2])}
    _, curves = fit_members(TinyClassifier(), key, inputs, targets, hyper, steps=100)
    assert curves.shape == (2, 100)
    assert bool(jnp.all(curves[:, -1] < 0.7 * curves[:, 0]))


def test_members_differ_in_init_and_hyperparameters(key):
    inputs, targets = _data(key)
    hyper = {"learning_rate": jnp.array([1e-2, 1e-2])}
    stacked, _ = fit_members(TinyClassifier(), key, inputs, targets, hyper, steps=1)
    kernel = stacked["params"]["Dense_0"]["kernel"]
    assert not np.allclose(kernel[0], kernel[1])


def test_regression_loss(key):
    inputs = jax.random.normal(key, (32, 2))
    targets = inputs @ jnp.array([[1.0], [-2.0]])
    model = nn.Dense(1)
    stacked, curves = fit_members(
        model,
        key,
        inputs,
        targets,
        {"learning_rate": jnp.array([0.1, 0.05])},
        steps=300,
        loss="squared_error",
    )
    assert bool(jnp.all(curves[:, -1] < 1e-3))
    np.testing.assert_allclose(stacked["params"]["kernel"][0, :, 0], [1.0, -2.0], atol=0.05)


def test_zero_weight_samples_do_not_affect_a_member(key):
    """A member trained on a 0/1 subset equals one trained on that subset alone."""
    inputs, targets = _data(key)
    weights = subset_weights(key, 1, inputs.shape[0], 0.5)
    kept = np.flatnonzero(np.asarray(weights[0]))
    hyper = {"learning_rate": jnp.float32(0.05)}
    model = TinyClassifier()
    on_subset, _ = fit_member(
        model, key, inputs[kept], targets[kept], hyper, jnp.ones(len(kept)), 20
    )
    weighted, _ = fit_member(model, key, inputs, targets, hyper, weights[0], 20)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), on_subset, weighted)


def test_data_weight_helpers(key):
    boot = bootstrap_weights(key, 4, 25)
    assert boot.shape == (4, 25)
    np.testing.assert_array_equal(boot.sum(axis=1), [25.0] * 4)
    subset = subset_weights(key, 4, 25, 0.4)
    np.testing.assert_array_equal(subset.sum(axis=1), [10.0] * 4)
    assert set(np.unique(subset).tolist()) == {0.0, 1.0}


def test_member_list_of_different_shapes(key):
    inputs, targets = _data(key)
    models = [TinyClassifier(hidden=4), TinyClassifier(hidden=16)]
    hypers = [{"learning_rate": 0.05}, {"learning_rate": 0.02}]
    trained = fit_member_list(models, key, inputs, targets, hypers, steps=20)
    assert trained[0]["params"]["Dense_1"]["kernel"].shape == (4, 4)
    assert trained[1]["params"]["Dense_1"]["kernel"].shape == (4, 16)
    member_key = jax.random.split(key, 2)[1]
    alone, _ = fit_member(
        models[1],
        member_key,
        inputs,
        targets,
        {"learning_rate": 0.02},
        jnp.ones(inputs.shape[0]),
        20,
    )
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), trained[1], alone)


def test_bad_settings_are_config_errors(key):
    inputs, targets = _data(key)
    model = TinyClassifier()
    with pytest.raises(ConfigError, match="hyper"):
        fit_members(model, key, inputs, targets, {"momentum": jnp.ones(2)})
    with pytest.raises(ConfigError, match="hyper/sample_weights"):
        fit_members(model, key, inputs, targets, {"learning_rate": jnp.ones(2)}, jnp.ones((3, 40)))
    with pytest.raises(ConfigError, match="loss"):
        fit_members(model, key, inputs, targets, {"learning_rate": jnp.ones(2)}, loss="hinge")
