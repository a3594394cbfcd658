"""The decoder: causal, near-uniform when untrained, dropout with a traced rate, config checks."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.language import CausalDecoder, DecoderConfig, dropout, window_loss

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("language.test_model")

CONFIG = DecoderConfig(vocab_size=97, d_model=16, num_layers=2, num_heads=2, context_length=12)


@pytest.fixture(scope="module")
def model_and_params():
    """The decoder, its parameters and its jitted apply (the same function: op by op, an
    un-jitted apply of this 2-layer decoder took 20-40 s per test on 2 busy cores)."""
    model = CausalDecoder(CONFIG)
    params = jax.jit(model.init)(
        jax.random.key(0), jnp.zeros((1, CONFIG.context_length), jnp.int32)
    )
    return model, params, jax.jit(model.apply)


def test_changing_a_future_token_leaves_earlier_logits_unchanged(model_and_params):
    model, params, apply = model_and_params
    tokens = jax.random.randint(jax.random.key(1), (2, CONFIG.context_length), 0, 97)
    changed_at = 7
    edited = tokens.at[:, changed_at].set((tokens[:, changed_at] + 1) % 97)
    logits, edited_logits = apply(params, tokens), apply(params, edited)
    assert logits.shape == (2, CONFIG.context_length, 97)
    np.testing.assert_array_equal(logits[:, :changed_at], edited_logits[:, :changed_at])
    # the edited token and everything after it see the change
    differences = jnp.abs(logits - edited_logits).max(axis=(0, 2))
    assert bool(jnp.all(differences[changed_at:] > 1e-6))


def test_a_shorter_window_gives_the_same_logits_as_its_prefix(model_and_params):
    model, params, apply = model_and_params
    tokens = jax.random.randint(jax.random.key(2), (2, CONFIG.context_length), 0, 97)
    np.testing.assert_allclose(
        apply(params, tokens[:, :5]), apply(params, tokens)[:, :5], atol=1e-5
    )


def test_untrained_loss_is_about_log_vocab(model_and_params):
    model, params, apply = model_and_params
    windows = jax.random.randint(jax.random.key(3), (8, CONFIG.context_length + 1), 0, 97)
    loss = jax.jit(window_loss, static_argnums=1)(params, model, windows)
    assert abs(float(loss) - math.log(97)) < 0.05


def test_dropout_rate_zero_is_identity_and_rate_half_keeps_the_mean(key):
    values = jnp.ones((100_000,))
    np.testing.assert_array_equal(dropout(key, values, jnp.float32(0.0)), values)
    dropped = dropout(key, values, jnp.float32(0.5))
    assert set(np.unique(np.asarray(dropped)).tolist()) == {0.0, 2.0}
    assert abs(float(dropped.mean()) - 1.0) < 0.02


def test_dropout_changes_training_logits_only_with_a_key(model_and_params, key):
    model, params, apply = model_and_params
    tokens = jnp.zeros((1, 4), jnp.int32)
    plain = apply(params, tokens, 0.3)
    np.testing.assert_array_equal(plain, apply(params, tokens))
    assert not np.allclose(plain, apply(params, tokens, 0.3, key))
    np.testing.assert_allclose(plain, apply(params, tokens, 0.0, key), atol=1e-6)


@pytest.mark.parametrize(
    ("field", "changes"),
    [("core.d_model", {"d_model": 12, "num_heads": 4}), ("decoder.vocab_size", {"vocab_size": 0})],
)
def test_bad_shapes_are_config_errors(field, changes):
    with pytest.raises(ConfigError, match=field):
        DecoderConfig(**changes)
