"""Member training: schedule values, vmapped members == one member alone, loss goes down."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.language import (
    CausalDecoder,
    DecoderConfig,
    TrainConfig,
    bootstrap_stream,
    eval_windows,
    init_members,
    load_corpus,
    lr_schedule,
    sample_windows,
    train_members,
    update,
    window_loss,
)

TINY = DecoderConfig(vocab_size=97, d_model=16, num_layers=1, num_heads=2, context_length=8)


def test_schedule_warms_up_linearly_then_decays_to_the_final_fraction():
    config = TrainConfig(num_steps=110, warmup_steps=10, final_lr_fraction=0.1)
    values = [float(lr_schedule(jnp.int32(step), config)) for step in (0, 4, 10, 60, 110, 500)]
    np.testing.assert_allclose(values, [0.1, 0.5, 1.0, 0.55, 0.1, 0.1], atol=1e-6)


def test_sampled_windows_are_slices_of_the_stream(key):
    stream = jnp.arange(50, dtype=jnp.uint8)
    windows = sample_windows(key, stream, 6, 4)
    assert windows.shape == (6, 5) and windows.dtype == jnp.int32
    np.testing.assert_array_equal(windows - windows[:, :1], jnp.broadcast_to(jnp.arange(5), (6, 5)))
    assert int(windows.max()) <= 49


@pytest.mark.slow  # the fast tier's time budget: run with -m slow
def test_vmapped_members_train_exactly_as_each_member_alone():
    config = TrainConfig(batch_size=4, num_steps=3, warmup_steps=1, chunk_steps=3)
    keys = jnp.stack([jax.random.key(10), jax.random.key(11)])
    rng = np.random.default_rng(0)
    streams = jnp.asarray(rng.integers(0, 97, (2, 200)), jnp.uint8)
    learning_rates, dropout_rates = jnp.array([1e-2, 3e-3]), jnp.array([0.0, 0.2])
    together, losses = update(
        init_members(keys, TINY, config), streams, learning_rates, dropout_rates, TINY, config, 3
    )
    alone, alone_losses = update(
        init_members(keys[1:], TINY, config),
        streams[1:],
        learning_rates[1:],
        dropout_rates[1:],
        TINY,
        config,
        3,
    )
    assert losses.shape == (3, 2)
    np.testing.assert_allclose(losses[:, 1:], alone_losses, rtol=1e-5)
    for joint, single in zip(jax.tree.leaves(together), jax.tree.leaves(alone), strict=True):
        if jnp.issubdtype(joint.dtype, jnp.floating):
            np.testing.assert_allclose(joint[1:], single, rtol=1e-4, atol=1e-6)
    # the members really differ (own key, data, learning rate, dropout)
    first_leaf = jax.tree.leaves(together.params)[0]
    assert not np.allclose(first_leaf[0], first_leaf[1])


def test_members_must_come_with_one_setting_each(key):
    config = TrainConfig(num_steps=1)
    state = init_members(jax.random.split(key, 2), TINY, config)
    streams = jnp.zeros((2, 100), jnp.uint8)
    with pytest.raises(ConfigError, match="learning_rates"):
        train_members(state, streams, [1e-3], [0.0, 0.0], TINY, config)
    with pytest.raises(ConfigError, match="dropout_rates"):
        train_members(state, streams, [1e-3, 1e-3], [0.0, 1.0], TINY, config)
    with pytest.raises(ConfigError, match="train.batch_size"):
        TrainConfig(batch_size=0)


@pytest.mark.slow  # the fast tier's time budget: run with -m slow
def test_a_short_training_learns_a_periodic_text(key):
    """A period-5 pattern: after 60 steps the loss is far below log(97) (cheap, exact target)."""
    pattern = np.tile(np.array([3, 1, 4, 1, 5], np.uint8), 60)
    config = TrainConfig(batch_size=8, num_steps=60, warmup_steps=5, chunk_steps=60)
    state = init_members(key[None], TINY, config)
    state, losses = train_members(state, pattern[None], [1e-2], [0.0], TINY, config)
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    loss = window_loss(params, CausalDecoder(TINY), jnp.asarray(eval_windows(pattern, 8)))
    assert float(losses[0, 0]) > 0.8 * math.log(97)
    assert float(loss) < 0.25 * math.log(97)


@pytest.mark.slow
def test_training_on_the_stdlib_lowers_validation_loss_well_below_log_vocab(key):
    """300 steps of one width-64 member: held-out validation files fall under 2.4 nats/char.

    For scale: log(97) = 4.57; the training files' character frequencies (a unigram model)
    give 3.16 nats/char on the validation files.
    """
    corpus = load_corpus()
    decoder = DecoderConfig(d_model=64, num_layers=2, num_heads=4, context_length=64)
    config = TrainConfig(batch_size=32, num_steps=300, warmup_steps=30, chunk_steps=100)
    stream = bootstrap_stream(corpus.train, 200_000, np.random.default_rng(0))
    state = init_members(key[None], decoder, config)
    state, _ = train_members(state, stream[None], [6e-3], [0.0], decoder, config)
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    windows = jnp.asarray(eval_windows(corpus.stream("validation"), 64, 512))
    loss = window_loss(params, CausalDecoder(decoder), windows)
    assert float(loss) < 2.4 < 0.55 * math.log(97)
