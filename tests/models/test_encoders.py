"""Vector, id-grid and image encoders, and grid- and image-observation models end to end."""

from __future__ import annotations

import functools

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.registry import make
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.models import GridEncoder, VectorEncoder, make_model_for_spaces
from marlax.models.base import ACTIVATIONS, dense, flat_dot_general, lead_axes
from marlax.models.encoders import ImageEncoder, _patches
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
    chex.assert_shape(params["params"]["embed_0"], (4, 3))
    chex.assert_shape(params["params"]["embed_1"], (3, 3))
    conv_in = 3 if combine == "sum" else 3 * C
    # the conv is a Dense on 3 x 3 patches: kernel [k*k*E, out]
    chex.assert_shape(params["params"]["Dense_0"]["kernel"], (3 * 3 * conv_in, 4))
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
    [
        {"vocab_sizes": ()},
        {"vocab_sizes": (0, 3)},
        {"combine": "max"},
        {"embed_dim": 0},
        {"conv_strides": (2,)},  # default conv_channels has 2 layers
        {"conv_strides": (0, 1)},
    ],
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


# ---- SAME convs as `_patches` + Dense, checked against lax.conv_general_dilated ----------


def _lax_conv(cells: jax.Array, dense: dict, kernel_size: int, stride: int = 1) -> jax.Array:
    """A real SAME conv with the Dense layer's kernel reshaped to HWIO, plus its bias."""
    in_channels = cells.shape[-1]
    kernel = dense["kernel"].reshape(kernel_size, kernel_size, in_channels, -1)
    lead_shape = cells.shape[:-3]
    batch = cells.reshape((-1, *cells.shape[-3:]))
    out = jax.lax.conv_general_dilated(
        batch, kernel, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    out = out.reshape((*lead_shape, *out.shape[1:]))
    return out + lead_axes(dense["bias"], out.ndim - 1)


def _reference_head(
    params: dict, cells: jax.Array, num_convs: int, kernel_size: int, act, strides=None
):
    """Convs by lax (stride 1 unless `strides` says), flatten, output Dense: the path every
    conv encoder ends with."""
    strides = strides or (1,) * num_convs
    for layer in range(num_convs):
        cells = act(_lax_conv(cells, params[f"Dense_{layer}"], kernel_size, strides[layer]))
    flat = cells.reshape((*cells.shape[:-3], -1))
    dense = params[f"Dense_{num_convs}"]
    return act(flat @ dense["kernel"] + lead_axes(dense["bias"], flat.ndim - 1))


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("kernel_size", [1, 2, 3])
def test_patches_dense_equals_lax_same_conv(kernel_size: int, stride: int, key: jax.Array) -> None:
    cells_key, kernel_key, bias_key = jax.random.split(key, 3)
    cells = jax.random.normal(cells_key, (2, 4, 5, 3))  # H != W catches a swapped axis
    dense = {
        "kernel": jax.random.normal(kernel_key, (kernel_size * kernel_size * 3, 6)),
        "bias": jax.random.normal(bias_key, (6,)),
    }
    patches = _patches(cells, kernel_size, stride)
    out_h, out_w = -(-4 // stride), -(-5 // stride)  # SAME: ceil(size / stride)
    chex.assert_shape(patches, (2, out_h, out_w, kernel_size * kernel_size * 3))
    ours = patches @ dense["kernel"] + lead_axes(dense["bias"], 3)
    expected = _lax_conv(cells, dense, kernel_size, stride)
    np.testing.assert_allclose(ours, expected, atol=1e-5)


@pytest.mark.parametrize("combine", ["sum", "concat"])
def test_grid_encoder_equals_lookup_and_lax_convs(combine: str, key: jax.Array) -> None:
    # the encoder folds the tables into its first conv; the reference embeds, then convolves
    encoder = GridEncoder(VOCAB, embed_dim=3, combine=combine, conv_channels=(4, 2), output_size=6)
    grids = _grid(key, (2, 3))
    params = encoder.init(key, grids)["params"]
    # table lookup by indexing (a gather), not the encoder's one-hot matmul
    looked_up = [params["embed_0"][grids[..., 0]], params["embed_1"][grids[..., 1]]]
    cells = sum(looked_up) if combine == "sum" else jnp.concatenate(looked_up, axis=-1)
    # default strides: 2 for the first conv, 1 after
    expected = _reference_head(params, cells, 2, 3, ACTIVATIONS["relu"], strides=(2, 1))
    features = encoder.apply({"params": params}, grids)
    np.testing.assert_allclose(features, expected, atol=1e-5)
    chex.assert_shape(params["Dense_2"]["kernel"], (3 * 3 * 2, 6))  # 5x5 -> 3x3 x 2 channels


def test_grid_encoder_flags_out_of_table_ids_with_nan(key: jax.Array) -> None:
    encoder = GridEncoder(VOCAB, conv_channels=(4,), output_size=6)
    grids = _grid(key, (3,))
    params = encoder.init(key, grids)
    bad = grids.at[1, 0, 4, 1].set(VOCAB[1])  # one id past channel 1's table, in row 1
    features = np.asarray(encoder.apply(params, bad))
    assert np.isnan(features[1]).all()
    clean = np.asarray(encoder.apply(params, grids))
    np.testing.assert_allclose(features[[0, 2]], clean[[0, 2]], atol=1e-6)
    no_conv = GridEncoder(VOCAB, conv_channels=(), output_size=6)
    negative = grids.at[2, 1, 1, 0].set(-1)
    assert np.isnan(np.asarray(no_conv.apply(no_conv.init(key, grids), negative))[2]).all()


def test_grid_encoder_explicit_strides_equal_lax_convs(key: jax.Array) -> None:
    encoder = GridEncoder(VOCAB, embed_dim=3, conv_channels=(4, 2), conv_strides=(1, 3))
    grids = _grid(key, (2,))
    params = encoder.init(key, grids)["params"]
    cells = params["embed_0"][grids[..., 0]] + params["embed_1"][grids[..., 1]]
    expected = _reference_head(params, cells, 2, 3, ACTIVATIONS["relu"], strides=(1, 3))
    np.testing.assert_allclose(encoder.apply({"params": params}, grids), expected, atol=1e-5)


# ---- ImageEncoder ---------------------------------------------------------------------

H, W, IMAGE_C = 5, 4, 3


@pytest.mark.parametrize("lead", [(), (3,), (2, 3)])
def test_image_encoder_shapes_over_leading_axes(lead: tuple[int, ...], key: jax.Array) -> None:
    encoder = ImageEncoder(conv_channels=(4,), output_size=6, activation="tanh")
    images = jax.random.uniform(key, (2, 3, H, W, IMAGE_C))
    params = encoder.init(key, images)
    chex.assert_shape(params["params"]["Dense_0"]["kernel"], (3 * 3 * IMAGE_C, 4))
    chex.assert_shape(params["params"]["Dense_1"]["kernel"], (H * W * 4, 6))
    full = encoder.apply(params, images)
    chex.assert_shape(full, (2, 3, 6))
    # leading axes are batch axes: any [*lead] slice gives the same rows as the full batch
    rows = images.reshape(6, H, W, IMAGE_C)[: int(np.prod(lead))].reshape((*lead, H, W, IMAGE_C))
    features = encoder.apply(params, rows)
    chex.assert_shape(features, (*lead, 6))
    np.testing.assert_allclose(
        features.reshape(-1, 6), full.reshape(6, 6)[: int(np.prod(lead))], atol=1e-6
    )


def test_image_encoder_equals_affine_and_lax_convs(key: jax.Array) -> None:
    params_key, scale_key, shift_key, obs_key = jax.random.split(key, 4)
    encoder = ImageEncoder(conv_channels=(4, 2), output_size=6, channel_affine=True)
    images = jax.random.uniform(obs_key, (2, H, W, IMAGE_C))
    params = encoder.init(params_key, images)["params"]
    np.testing.assert_array_equal(params["channel_scale"], np.ones(IMAGE_C))
    np.testing.assert_array_equal(params["channel_shift"], np.zeros(IMAGE_C))
    # non-trivial affine so a dropped or mis-broadcast scale/shift shows up
    params = {
        **params,
        "channel_scale": jax.random.normal(scale_key, (IMAGE_C,)),
        "channel_shift": jax.random.normal(shift_key, (IMAGE_C,)),
    }
    cells = (
        images * params["channel_scale"][None, None, None]
        + params["channel_shift"][None, None, None]
    )
    expected = _reference_head(params, cells, 2, 3, ACTIVATIONS["relu"])
    features = encoder.apply({"params": params}, images)
    np.testing.assert_allclose(features, expected, atol=1e-5)
    # without the affine there are no such parameters, and the head alone is the encoder
    plain = ImageEncoder(conv_channels=(), output_size=6, activation="tanh")
    plain_params = plain.init(params_key, images)["params"]
    assert set(plain_params) == {"Dense_0"}
    expected = _reference_head(plain_params, images, 0, 3, ACTIVATIONS["tanh"])
    np.testing.assert_allclose(plain.apply({"params": plain_params}, images), expected, atol=1e-5)


def test_image_encoder_rejects_a_vector(key: jax.Array) -> None:
    encoder = ImageEncoder()
    with pytest.raises(ValueError, match="H, W, C"):
        encoder.init(key, jnp.zeros((2, 5)))


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"conv_channels": (0,)}, "encoder.conv_channels"),
        ({"conv_channels": [4]}, "encoder.conv_channels"),
        ({"kernel_size": 0}, "encoder.kernel_size"),
        ({"output_size": 2.0}, "encoder.output_size"),
        ({"activation": "sigmoid"}, "encoder.activation"),
        ({"channel_affine": 1}, "encoder.channel_affine"),
    ],
)
def test_image_encoder_bad_settings_raise_config_error(settings: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ImageEncoder(**settings)
    assert caught.value.field == field


def test_spaces_pick_the_encoder_and_refuse_other_boxes() -> None:
    image_space = make("energy_flow").observation_space
    assert image_space == Box(0.0, 1.0, (5, 5, 5))
    model = make_model_for_spaces("mlp", image_space, Discrete(5))
    assert isinstance(model.encoder, ImageEncoder)
    assert isinstance(
        make_model_for_spaces("mlp", Box(0, 3, (5, 5, 2), "int32"), Discrete(5)).encoder,
        GridEncoder,
    )
    with pytest.raises(ConfigError) as caught:
        make_model_for_spaces(
            "mlp", image_space, Discrete(5), encoder_settings={"vocab_sizes": [4]}
        )
    assert caught.value.field == "encoder.vocab_sizes"
    for space in (Box(0.0, 1.0, (4, 4)), Box(0, 3, (6,), "int32"), Discrete(3)):
        with pytest.raises(ConfigError) as caught:
            make_model_for_spaces("mlp", space, Discrete(5))
        assert caught.value.field == "observation_space"


def test_image_model_from_energy_flow_space_sequence_equals_steps(key: jax.Array) -> None:
    obs_key, init_key = jax.random.split(key)
    obs_space = make("energy_flow").observation_space
    model = make_model_for_spaces(
        "gru",
        obs_space,
        Discrete(5),
        encoder_settings={"conv_channels": [4], "output_size": 8, "channel_affine": True},
        hidden_size=8,
    )
    assert model.encoder.conv_channels == (4,)
    length, batch = 4, (2, 3)
    images = obs_space.sample(obs_key, (length, *batch))
    reset_seq = jnp.zeros((length, *batch), bool).at[2, 0, 1].set(True)
    carry = model.initialize_carry(batch)
    params = jax.jit(model.init)(init_key, carry, images[0], reset_seq[0])
    sequence = jax.jit(functools.partial(model.apply, method="sequence"))
    _, (logits, value) = sequence(params, carry, images, reset_seq)
    chex.assert_shape((logits, value), ((length, *batch, 5), (length, *batch)))
    chex.assert_tree_all_finite((logits, value))
    _, (logits_loop, value_loop) = unroll(jax.jit(model.apply), params, carry, images, reset_seq)
    chex.assert_trees_all_close((logits, value), (logits_loop, value_loop), atol=2e-5, rtol=2e-5)
    # the reset clears memory: after it, env (0, 1) acts as if its episode began at step 2
    _, (fresh_logits, _) = unroll(jax.jit(model.apply), params, carry, images[2:], reset_seq[2:])
    np.testing.assert_allclose(logits[2:, 0, 1], fresh_logits[:, 0, 1], atol=2e-5, rtol=2e-5)


def test_flat_dense_equals_nn_dense_on_any_leading_axes(key: jax.Array) -> None:
    x = jax.random.normal(key, (2, 3, 5, 4))
    plain, flat = nn.Dense(6), dense(6)
    params = plain.init(key, x)
    np.testing.assert_allclose(flat.apply(params, x), plain.apply(params, x), atol=1e-6)
    grads = [jax.grad(lambda p, m=m: jnp.sum(m.apply(p, x) ** 2))(params) for m in (plain, flat)]
    chex.assert_trees_all_close(grads[0], grads[1], atol=1e-4, rtol=1e-5)
    with pytest.raises(ValueError, match="only does"):
        flat_dot_general(x, jnp.ones((2, 6)), (((0,), (0,)), ((), ())))
