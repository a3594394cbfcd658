"""Vector and id-grid encoders, and a grid-observation model end to end."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.models import GridEncoder, VectorEncoder, make_model_for_spaces
from tests.models.helpers import unroll

V, C = 5, 2
VOCAB = (4, 3)


def _grid(key: jax.Array, lead: tuple[int, ...]) -> jax.Array:
    high = jnp.array(VOCAB).reshape((1,) * (len(lead) + 2) + (C,))
    return jax.random.randint(key, (*lead, V, V, C), 0, high, dtype=jnp.int32)


@pytest.mark.parametrize("combine", ["sum", "concat"])
def test_grid_encoder_shapes_and_tables(combine: str, key: jax.Array) -> None:
    encoder = GridEncoder(
        VOCAB, embed_dim=3, combine=combine, conv_channels=(4,), output_size=6, activation="tanh"
    )
    grids = _grid(key, (2, 3))
    params = jax.jit(encoder.init)(key, grids)
    # one table per channel, of size vocab_sizes[c]
    chex.assert_shape(params["params"]["embed_0"]["embedding"], (4, 3))
    chex.assert_shape(params["params"]["embed_1"]["embedding"], (3, 3))
    conv_in = 3 if combine == "sum" else 3 * C
    chex.assert_shape(params["params"]["Conv_0"]["kernel"], (3, 3, conv_in, 4))
    apply = jax.jit(encoder.apply)
    features = apply(params, grids)
    chex.assert_shape(features, (2, 3, 6))
    # leading axes are batch axes: [T, B, N] gives the same rows as [B * N]
    flat = apply(params, grids.reshape(6, V, V, C))
    np.testing.assert_allclose(features.reshape(6, 6), flat, atol=1e-6)
    # every channel reaches the output
    for channel in range(C):
        new_id = (grids[0, 0, 2, 2, channel] + 1) % VOCAB[channel]
        bumped = grids.at[0, 0, 2, 2, channel].set(new_id)
        bumped_features = apply(params, bumped)
        assert not np.allclose(bumped_features[0, 0], features[0, 0])
        np.testing.assert_allclose(bumped_features[1:], features[1:], atol=1e-6)


def test_grid_encoder_rejects_wrong_channel_count(key: jax.Array) -> None:
    encoder = GridEncoder((4, 3, 2))
    with pytest.raises(ValueError, match="V, V, 3"):
        encoder.init(key, _grid(key, (2,)))


def test_vector_encoder_identity_and_mlp(key: jax.Array) -> None:
    obs = jax.random.normal(key, (2, 3, 5))
    identity = VectorEncoder(hidden_sizes=())
    np.testing.assert_array_equal(identity.apply(identity.init(key, obs), obs), obs)
    mlp = VectorEncoder(hidden_sizes=(4, 6), activation="relu")
    features = mlp.apply(mlp.init(key, obs), obs)
    chex.assert_shape(features, (2, 3, 6))
    assert (np.asarray(features) >= 0).all()


@pytest.mark.parametrize(
    "settings",
    [{"vocab_sizes": ()}, {"vocab_sizes": (0, 3)}, {"combine": "max"}, {"embed_dim": 0}],
)
def test_grid_encoder_bad_settings_raise_config_error(settings: dict) -> None:
    with pytest.raises(ConfigError):
        GridEncoder(**{"vocab_sizes": VOCAB, **settings})


def test_grid_model_from_spaces_sequence_equals_steps(key: jax.Array) -> None:
    obs_space = Box(0, 3, (V, V, C), "int32")
    model = make_model_for_spaces(
        "gru",
        obs_space,
        Discrete(6),
        encoder_settings={"embed_dim": 2, "conv_channels": [4], "output_size": 8},
        hidden_size=8,
    )
    assert model.encoder.vocab_sizes == (4, 4)
    length, batch = 4, (2, 3)
    grids = obs_space.sample(key, (length, *batch))
    reset_seq = jnp.zeros((length, *batch), bool).at[2, 0, 1].set(True)
    carry = model.initialize_carry(batch)
    params = jax.jit(model.init)(key, carry, grids[0], reset_seq[0])
    sequence = jax.jit(functools.partial(model.apply, method="sequence"))
    _, (logits, value) = sequence(params, carry, grids, reset_seq)
    chex.assert_shape((logits, value), ((length, *batch, 6), (length, *batch)))
    _, (logits_loop, _) = unroll(jax.jit(model.apply), params, carry, grids, reset_seq)
    chex.assert_trees_all_close(logits, logits_loop, atol=2e-5, rtol=2e-5)
