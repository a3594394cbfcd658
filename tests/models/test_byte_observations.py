"""u8 observations end to end: a byte-image env (battle) gets the image encoder, which reads
bytes as intensities / 255, so the u8 env and its float variant give equal features; u8 id
grids still embed as ids."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs import make
from marlax.models.encoders import GridEncoder, ImageEncoder
from marlax.models.registry import encoder_for_space


def test_battle_byte_views_get_the_image_encoder_in_both_dtypes():
    for dtype in ("uint8", "float32"):
        space = make("battle", obs_dtype=dtype).observation_space
        assert encoder_for_space(space) == "image", dtype


def test_byte_images_equal_their_float_variant():
    key = jax.random.key(0)
    env_u8, env_f32 = make("battle", obs_dtype="uint8"), make("battle", obs_dtype="float32")
    obs_u8, _ = env_u8.reset(key)
    obs_f32, _ = env_f32.reset(key)
    assert obs_u8.dtype == jnp.uint8 and obs_f32.dtype == jnp.float32
    encoder = ImageEncoder(conv_channels=(8,), output_size=16)
    params = encoder.init(jax.random.key(1), obs_f32)
    np.testing.assert_allclose(
        encoder.apply(params, obs_u8), encoder.apply(params, obs_f32), rtol=1e-6, atol=1e-6
    )


def test_byte_id_grids_embed_like_int32_ids():
    ids = jax.random.randint(jax.random.key(2), (4, 5, 5, 2), 0, 200)
    encoder = GridEncoder(vocab_sizes=(256, 256), conv_channels=(4,), output_size=8)
    params = encoder.init(jax.random.key(3), ids.astype(jnp.int32))
    as_bytes = encoder.apply(params, ids.astype(jnp.uint8))
    np.testing.assert_array_equal(as_bytes, encoder.apply(params, ids.astype(jnp.int32)))
    assert np.isfinite(np.asarray(as_bytes)).all()
