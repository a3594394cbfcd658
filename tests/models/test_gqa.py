"""Grouped-query attention: kv_heads = heads is plain multi-head attention, fewer K/V heads
equal multi-head attention with each K/V head repeated, and the step and sequence paths agree."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import pytest

from marlax.errors import ConfigError
from marlax.models import TransformerCore, make_model
from marlax.models.attention import attend
from marlax.models.transformer import _Block
from tests.models.helpers import OBS_DIM, unroll

HEADS, HEAD_DIM = 4, 4
D_MODEL = HEADS * HEAD_DIM
T, B = 9, 3


def _reference_mha(query, key, value, mask):
    """Multi-head attention as written before GQA: one K/V head per query head."""
    scale = 1.0 / jnp.sqrt(jnp.float32(query.shape[-1]))
    logits = jnp.einsum("...qhd,...shd->...hqs", query, key) * scale
    logits = jnp.where(mask[..., None, :, :], logits, -1e9)
    weights = jax.nn.softmax(logits, axis=-1)
    out = jnp.einsum("...hqs,...shd->...qhd", weights, value)
    return out.reshape((*out.shape[:-2], -1))


def _random_attention_inputs(key: jax.Array, kv_heads: int):
    q_key, k_key, v_key, mask_key = jax.random.split(key, 4)
    query = jax.random.normal(q_key, (B, 5, HEADS, HEAD_DIM))
    keys = jax.random.normal(k_key, (B, 6, kv_heads, HEAD_DIM))
    values = jax.random.normal(v_key, (B, 6, kv_heads, HEAD_DIM))
    # every row sees at least key 0
    mask = jax.random.bernoulli(mask_key, 0.6, (B, 5, 6)).at[..., 0].set(True)
    return query, keys, values, mask


def _model(kv_heads: int | None):
    return make_model(
        "transformer",
        num_actions=4,
        encoder_settings={"hidden_sizes": (8,)},
        d_model=D_MODEL,
        num_heads=HEADS,
        num_kv_heads=kv_heads,
        num_layers=2,
        context_length=4,
    )


@functools.cache
def _compiled(kv_heads: int | None):
    model = _model(kv_heads)
    carry = model.initialize_carry((B,))
    params = jax.jit(model.init)(
        jax.random.key(0), carry, jnp.zeros((B, OBS_DIM)), jnp.zeros((B,), bool)
    )
    step = jax.jit(model.apply)
    sequence = jax.jit(functools.partial(model.apply, method="sequence"))
    return model, params, step, sequence


def _inputs(key: jax.Array):
    obs_key, reset_key = jax.random.split(key)
    obs_seq = jax.random.normal(obs_key, (T, B, OBS_DIM))
    # several resets mid-sequence, at different steps per row; row 2 never resets
    reset_seq = jnp.zeros((T, B), bool).at[2, 0].set(True).at[5, 0].set(True).at[4, 1].set(True)
    return obs_seq, reset_seq


@pytest.mark.parametrize("bad", [0, 3, -2, True, 2.0])
def test_num_kv_heads_must_divide_num_heads(bad) -> None:
    with pytest.raises(ConfigError) as error:
        TransformerCore(d_model=D_MODEL, num_heads=HEADS, num_kv_heads=bad)
    assert error.value.field == "core.num_kv_heads"


@pytest.mark.parametrize("kv_heads", [1, 2, HEADS])
def test_grouped_attention_equals_mha_with_repeated_kv_heads(key: jax.Array, kv_heads) -> None:
    query, keys, values, mask = _random_attention_inputs(key, kv_heads)
    group = HEADS // kv_heads
    expected = _reference_mha(
        query, jnp.repeat(keys, group, axis=-2), jnp.repeat(values, group, axis=-2), mask
    )
    chex.assert_trees_all_close(attend(query, keys, values, mask), expected, atol=1e-5)


def test_projection_with_all_kv_heads_keeps_the_mha_layout(key: jax.Array) -> None:
    block = _Block(D_MODEL, HEADS, HEADS, mlp_ratio=2, norm="layernorm")
    tokens = jax.random.normal(key, (B, D_MODEL))
    params = block.init(key, tokens, method=_Block.project)
    assert params["params"]["qkv"]["kernel"].shape == (D_MODEL, 3 * D_MODEL)
    query, keys, values = block.apply(params, tokens, method=_Block.project)
    # the layout before GQA: qkv reshaped to [..., 3, heads, head_dim]
    qkv = block.apply(params, tokens, method=lambda module, t: module.qkv(module.attn_norm(t)))
    qkv = qkv.reshape((B, 3, HEADS, HEAD_DIM))
    chex.assert_trees_all_equal((query, keys, values), (qkv[:, 0], qkv[:, 1], qkv[:, 2]))


def test_default_kv_heads_is_num_heads() -> None:
    default, explicit = _compiled(None), _compiled(HEADS)
    chex.assert_trees_all_equal(default[1], explicit[1])
    kernel = default[1]["params"]["core"]["blocks_0"]["qkv"]["kernel"]
    assert kernel.shape == (D_MODEL, 3 * D_MODEL)


@pytest.mark.parametrize("kv_heads", [1, 2])
def test_carry_and_projection_are_sized_by_kv_heads(kv_heads: int) -> None:
    model, params, _, _ = _compiled(kv_heads)
    carry = model.initialize_carry((B, 2))
    # layers 2, M = context_length - 1 = 3
    assert carry.keys.shape == carry.values.shape == (B, 2, 2, 3, kv_heads, HEAD_DIM)
    kernel = params["params"]["core"]["blocks_1"]["qkv"]["kernel"]
    assert kernel.shape == (D_MODEL, D_MODEL + 2 * kv_heads * HEAD_DIM)


def _repeat_kv_columns(kernel: jax.Array, kv_heads: int) -> jax.Array:
    """A GQA qkv kernel f32[d, d + 2 kv hd] as the MHA kernel f32[d, 3d] that repeats each
    K/V head heads / kv_heads times."""
    query, keys, values = jnp.split(kernel, [D_MODEL, D_MODEL + kv_heads * HEAD_DIM], axis=-1)
    group = HEADS // kv_heads

    def repeat(columns: jax.Array) -> jax.Array:
        per_head = columns.reshape((D_MODEL, kv_heads, HEAD_DIM))
        return jnp.repeat(per_head, group, axis=1).reshape((D_MODEL, D_MODEL))

    return jnp.concatenate([query, repeat(keys), repeat(values)], axis=-1)


@pytest.mark.parametrize("kv_heads", [1, 2])
def test_gqa_model_equals_mha_model_with_repeated_kv_weights(key: jax.Array, kv_heads) -> None:
    _, gqa_params, _, gqa_sequence = _compiled(kv_heads)
    mha_model, _, _, mha_sequence = _compiled(None)
    core = dict(gqa_params["params"]["core"])
    for name in ("blocks_0", "blocks_1"):
        kernel = core[name]["qkv"]["kernel"]
        core[name] = {**core[name], "qkv": {"kernel": _repeat_kv_columns(kernel, kv_heads)}}
    mha_params = {"params": {**gqa_params["params"], "core": core}}
    obs_seq, reset_seq = _inputs(key)
    carry = mha_model.initialize_carry((B,))
    gqa_carry = _compiled(kv_heads)[0].initialize_carry((B,))
    gqa_carry, gqa_out = gqa_sequence(gqa_params, gqa_carry, obs_seq, reset_seq)
    mha_carry, mha_out = mha_sequence(mha_params, carry, obs_seq, reset_seq)
    chex.assert_trees_all_close(gqa_out, mha_out, atol=1e-5, rtol=1e-5)
    group = HEADS // kv_heads
    chex.assert_trees_all_close(
        jnp.repeat(gqa_carry.keys, group, axis=-2), mha_carry.keys, atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("kv_heads", [1, 2, HEADS])
def test_sequence_equals_steps_from_a_nonempty_cache(key: jax.Array, kv_heads: int) -> None:
    model, params, step, sequence = _compiled(kv_heads)
    warm_key, obs_key = jax.random.split(key)
    warm_obs, _ = _inputs(warm_key)
    start, _ = sequence(params, model.initialize_carry((B,)), warm_obs, jnp.zeros((T, B), bool))
    assert bool(start.valid.all()) and float(jnp.abs(start.keys).max()) > 0.1
    obs_seq, reset_seq = _inputs(obs_key)
    seq_carry, seq_out = sequence(params, start, obs_seq, reset_seq)
    step_carry, step_out = unroll(step, params, start, obs_seq, reset_seq)
    chex.assert_trees_all_close(seq_out, step_out, atol=1e-5, rtol=1e-5)
    chex.assert_trees_all_close(seq_carry, step_carry, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "kv_heads",
    [1, pytest.param(2, marks=pytest.mark.slow)],  # CI time: 22 s for the second
)
def test_jit_equals_no_jit(key: jax.Array, kv_heads: int) -> None:
    model, params, step, sequence = _compiled(kv_heads)
    obs_seq, reset_seq = _inputs(key)
    carry = model.initialize_carry((B,))
    eager = model.apply(params, carry, obs_seq, reset_seq, method="sequence")
    chex.assert_trees_all_close(
        sequence(params, carry, obs_seq, reset_seq), eager, atol=1e-6, rtol=1e-6
    )
    eager_step = model.apply(params, carry, obs_seq[0], reset_seq[0])
    chex.assert_trees_all_close(
        step(params, carry, obs_seq[0], reset_seq[0]), eager_step, atol=1e-6, rtol=1e-6
    )
