"""Flax Ensemble / ListEnsemble modules == the rules applied to each member by hand."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.ensembles import (
    Ensemble,
    FlaxClassifier,
    ListEnsemble,
    ensemble_variables,
    fit_members,
    list_ensemble_variables,
    rules,
)
from marlax.errors import ConfigError

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("ensembles.test_module")


class TinyClassifier(nn.Module):
    hidden: int = 8

    @nn.compact
    def __call__(self, inputs):
        return nn.Dense(4)(nn.tanh(nn.Dense(self.hidden)(inputs)))


@pytest.fixture(scope="module")
def trained():
    key = jax.random.key(0)
    inputs = jax.random.normal(key, (16, 5))
    targets = jnp.argmax(inputs[:, :4], axis=1)
    hyper = {"learning_rate": jnp.array([1e-2, 3e-2, 1e-1])}
    stacked, _ = fit_members(TinyClassifier(), key, inputs, targets, hyper, steps=5)
    per_member = [jax.tree.map(lambda leaf, k=k: leaf[k], stacked) for k in range(3)]
    logits = jnp.stack([TinyClassifier().apply(p, inputs) for p in per_member])
    return inputs, stacked, per_member, logits


def test_init_gives_every_leaf_a_member_axis(key):
    variables = Ensemble(TinyClassifier(), 3).init(key, jnp.ones((2, 5)))
    assert all(leaf.shape[0] == 3 for leaf in jax.tree.leaves(variables))
    kernels = variables["params"]["member"]["Dense_1"]["kernel"]
    assert not np.allclose(kernels[0], kernels[1])  # members get their own init


@pytest.mark.parametrize("rule", ["average", "mixture", "soft_vote", "hard_vote"])
def test_ensemble_equals_rules_on_each_member(trained, rule):
    inputs, stacked, _, logits = trained
    weights = jnp.array([1.0, 2.0, 1.0])
    alive = jnp.array([True, True, False])
    module = Ensemble(TinyClassifier(), 3, rule=rule, weights=(1.0, 2.0, 1.0))
    combined = module.apply(ensemble_variables(stacked), inputs, alive)
    expected = {
        "average": lambda: rules.weighted_average(logits, weights, alive),
        "mixture": lambda: rules.mixture_log_probs(jax.nn.log_softmax(logits), weights, alive),
        "soft_vote": lambda: rules.soft_vote(jax.nn.softmax(logits), weights, alive),
        "hard_vote": lambda: rules.hard_vote(jnp.argmax(logits, -1), weights, 4, alive),
    }[rule]()
    np.testing.assert_allclose(combined, expected, rtol=1e-5, atol=1e-6)


def test_call_time_weights_override_static_ones(trained):
    inputs, stacked, _, logits = trained
    bma = rules.bma_weights(jnp.array([0.0, 1.0, 2.0]))
    module = Ensemble(TinyClassifier(), 3, rule="mixture")
    combined = jax.jit(module.apply)(ensemble_variables(stacked), inputs, None, bma)
    expected = rules.mixture_log_probs(jax.nn.log_softmax(logits), bma)
    np.testing.assert_allclose(combined, expected, rtol=1e-5, atol=1e-6)


def test_list_ensemble_of_different_shapes(trained, key):
    inputs, _, per_member, logits = trained
    wide = TinyClassifier(hidden=16)
    wide_params = wide.init(key, inputs)
    module = ListEnsemble([TinyClassifier(), wide], rule="average")
    variables = list_ensemble_variables([per_member[0], wide_params])
    expected = 0.5 * (logits[0] + wide.apply(wide_params, inputs))
    np.testing.assert_allclose(module.apply(variables, inputs), expected, rtol=1e-5, atol=1e-6)


def test_unknown_rule_is_refused(key):
    with pytest.raises(ConfigError, match="rule"):
        Ensemble(TinyClassifier(), 2, rule="median").init(key, jnp.ones((1, 5)))


def test_flax_classifier_adapter_learns_and_keeps_class_labels():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 5)).astype(np.float32)
    labels = np.where(features[:, 0] > 0, 7, 3)
    classifier = FlaxClassifier(TinyClassifier(), steps=200, learning_rate=0.05).fit(
        features, labels
    )
    np.testing.assert_array_equal(classifier.classes_, [3, 7])
    assert classifier.predict_proba(features).shape == (60, 4)
    assert np.mean(classifier.predict(features) == labels) >= 0.95
