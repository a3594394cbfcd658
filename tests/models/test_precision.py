"""bf16 compute (`model.dtype = "bfloat16"`): every matmul sees bf16 operands, while the
parameters, their gradients, the outputs and the stored carries stay f32.

Tolerances, as ||bf16 - f32|| / ||f32|| per output: bf16 keeps 8 significant bits (unit
roundoff 2**-9, about 2e-3), and a tiny model rounds each activation a few dozen times on its
way to the head, with cancellation in every matmul, so outputs differ by about 1% (measured
5e-3 to 1.4e-2 across cores and encoders). Outputs may differ by 5e-2. Gradients round every
cotangent too, and the layers nearest the input collect the most of it (measured 3e-3 to
1.2e-2, and 6.6e-2 for the SSM, whose first layers see 12%): they may differ by 1.5e-1. Both
are far below the O(1) error of a wrong computation (a dropped carry, a wrong head).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend import core as jax_core

from marlax.errors import ConfigError
from marlax.models import make_model
from marlax.models.precision import cast_floating, cast_parameters
from tests.models.helpers import MODEL_NAMES, NUM_ACTIONS, OBS_DIM, TINY_CORES, unroll

BF16_TOLERANCE = 5e-2
"""Largest ||bf16 - f32|| / ||f32|| of an output, see the module docstring."""
BF16_GRAD_TOLERANCE = 1.5e-1
"""Largest ||bf16 - f32|| / ||f32|| of all parameter gradients together."""
T, B = 6, 3
GRID_SHAPE, VOCAB = (5, 5, 2), 4
IMAGE_SHAPE = (4, 4, 2)
MATMULS = ("dot_general", "conv_general_dilated")


def _model(name: str, dtype: str, encoder: str = "vector"):
    encoder_settings = {
        "vector": {"hidden_sizes": (8,)},
        "grid": {"vocab_sizes": (VOCAB,) * GRID_SHAPE[-1], "conv_channels": (4, 4)},
        "image": {"conv_channels": (4,), "channel_affine": True},
    }[encoder]
    return make_model(
        name,
        num_actions=NUM_ACTIONS,
        encoder=encoder,
        encoder_settings=encoder_settings,
        dtype=dtype,
        **TINY_CORES[name],
    )


def _observations(key: jax.Array, encoder: str, lead: tuple[int, ...]) -> jax.Array:
    if encoder == "grid":
        return jax.random.randint(key, (*lead, *GRID_SHAPE), 0, VOCAB)
    shape = {"vector": (OBS_DIM,), "image": IMAGE_SHAPE}[encoder]
    return jax.random.normal(key, (*lead, *shape))


@functools.cache
def _setup(name: str, encoder: str = "vector"):
    """(f32 model, bf16 model, shared f32 params, obs_seq, reset_seq, a non-empty carry)."""
    f32_model, bf16_model = _model(name, "float32", encoder), _model(name, "bfloat16", encoder)
    obs_key, reset_key, init_key = jax.random.split(jax.random.key(3), 3)
    obs_seq = _observations(obs_key, encoder, (T, B))
    reset_seq = jax.random.bernoulli(reset_key, 0.3, (T, B))
    carry = f32_model.initialize_carry((B,))
    params = jax.jit(f32_model.init)(init_key, carry, obs_seq[0], reset_seq[0])
    warm = functools.partial(f32_model.apply, method="sequence")
    start, _ = jax.jit(warm)(params, carry, obs_seq[::-1], jnp.zeros_like(reset_seq))
    return f32_model, bf16_model, params, obs_seq, reset_seq, start


def _matmul_operand_dtypes(jaxpr: jax_core.Jaxpr) -> list[tuple[str, ...]]:
    """Operand dtypes of every dot_general/conv in a jaxpr, its scans and sub-jaxprs included."""
    found = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name in MATMULS:
            found.append(tuple(str(var.aval.dtype) for var in eqn.invars))
        for param in eqn.params.values():
            for sub in param if isinstance(param, (tuple, list)) else (param,):
                if isinstance(sub, jax_core.ClosedJaxpr):
                    found += _matmul_operand_dtypes(sub.jaxpr)
                elif isinstance(sub, jax_core.Jaxpr):
                    found += _matmul_operand_dtypes(sub)
    return found


def _relative_error(actual, expected) -> float:
    """Largest ||actual - expected|| / ||expected|| over the float leaves of two pytrees."""
    pairs = zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True)
    errors = [
        float(jnp.linalg.norm((a - e).ravel()) / jnp.linalg.norm(e.ravel()))
        for a, e in pairs
        if jnp.issubdtype(e.dtype, jnp.floating) and e.size
    ]
    return max(errors)


def _value_loss(model, method: str):
    """sum(value): linear, so its gradient's error is the backward pass's own rounding."""

    def loss(params, carry, obs, reset):
        _, (_, value) = model.apply(params, carry, obs, reset, method=method)
        return jnp.sum(value)

    return loss


@pytest.mark.parametrize("dtype", ["float16", "bf16", None])
def test_dtype_must_be_float32_or_bfloat16(dtype) -> None:
    with pytest.raises(ConfigError) as error:
        _model("mlp", dtype)
    assert error.value.field == "model.dtype"


CASES = [(name, "vector") for name in MODEL_NAMES] + [("mlp", "grid"), ("mlp", "image")]


@pytest.mark.parametrize(("name", "encoder"), CASES)
@pytest.mark.parametrize("method", ["__call__", "sequence"])
def test_every_matmul_runs_in_bf16_forward_and_backward(name, encoder, method) -> None:
    _, model, params, obs_seq, reset_seq, carry = _setup(name, encoder)
    obs, reset = (obs_seq, reset_seq) if method == "sequence" else (obs_seq[0], reset_seq[0])
    forward = jax.make_jaxpr(functools.partial(model.apply, method=method))
    backward = jax.make_jaxpr(jax.grad(_value_loss(model, method)))
    for traced in (forward(params, carry, obs, reset), backward(params, carry, obs, reset)):
        operand_dtypes = _matmul_operand_dtypes(traced.jaxpr)
        assert operand_dtypes, "no matmul found: the jaxpr walk is broken"
        assert set(operand_dtypes) == {("bfloat16", "bfloat16")}


@pytest.mark.parametrize(("name", "encoder"), CASES)
def test_float32_model_has_no_bf16(name, encoder) -> None:
    model, _, params, obs_seq, reset_seq, carry = _setup(name, encoder)
    traced = jax.make_jaxpr(functools.partial(model.apply, method="sequence"))
    operand_dtypes = _matmul_operand_dtypes(traced(params, carry, obs_seq, reset_seq).jaxpr)
    assert set(operand_dtypes) == {("float32", "float32")}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_parameters_outputs_carries_and_gradients_stay_float32(name: str) -> None:
    _, model, _, obs_seq, reset_seq, carry = _setup(name)
    float32 = jnp.dtype(jnp.float32)
    params = jax.jit(model.init)(jax.random.key(0), carry, obs_seq[0], reset_seq[0])
    assert {leaf.dtype for leaf in jax.tree.leaves(params)} == {float32}
    steps = (("__call__", obs_seq[0], reset_seq[0]), ("sequence", obs_seq, reset_seq))
    for method, obs, reset in steps:
        outputs = jax.jit(functools.partial(model.apply, method=method))(params, carry, obs, reset)
        leaves = jax.tree.leaves(outputs)
        assert {leaf.dtype for leaf in leaves if leaf.dtype != jnp.dtype(bool)} == {float32}
        grads = jax.jit(jax.grad(_value_loss(model, method)))(params, carry, obs, reset)
        assert {leaf.dtype for leaf in jax.tree.leaves(grads)} == {float32}


@pytest.mark.parametrize(("name", "encoder"), CASES)
def test_bf16_outputs_match_float32_on_the_same_parameters(name, encoder) -> None:
    f32_model, bf16_model, params, obs_seq, reset_seq, carry = _setup(name, encoder)
    expected = jax.jit(functools.partial(f32_model.apply, method="sequence"))(
        params, carry, obs_seq, reset_seq
    )
    actual = jax.jit(functools.partial(bf16_model.apply, method="sequence"))(
        params, carry, obs_seq, reset_seq
    )
    error = _relative_error(actual, expected)
    assert error < BF16_TOLERANCE
    # and the value gradients point the same way (a relative error, also bf16-sized)
    inputs = (params, carry, obs_seq, reset_seq)
    f32_grads = jax.jit(jax.grad(_value_loss(f32_model, "sequence")))(*inputs)
    bf16_grads = jax.jit(jax.grad(_value_loss(bf16_model, "sequence")))(*inputs)
    f32_flat, bf16_flat = (
        jnp.concatenate([leaf.ravel() for leaf in jax.tree.leaves(grads)])
        for grads in (f32_grads, bf16_grads)
    )
    grad_error = jnp.linalg.norm(bf16_flat - f32_flat) / jnp.linalg.norm(f32_flat)
    assert float(grad_error) < BF16_GRAD_TOLERANCE


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bf16_sequence_equals_unrolled_steps(name: str) -> None:
    _, model, params, obs_seq, reset_seq, carry = _setup(name)
    sequence = jax.jit(functools.partial(model.apply, method="sequence"))
    seq_carry, seq_out = sequence(params, carry, obs_seq, reset_seq)
    step_carry, step_out = unroll(jax.jit(model.apply), params, carry, obs_seq, reset_seq)
    assert _relative_error(seq_out, step_out) < BF16_TOLERANCE
    if name != "mlp":
        assert _relative_error(seq_carry, step_carry) < BF16_TOLERANCE


def test_cast_floating_leaves_integers_and_booleans() -> None:
    tree = {"ids": jnp.arange(3), "mask": jnp.ones(2, bool), "x": jnp.ones(2, jnp.float32)}
    cast = cast_floating(tree, jnp.bfloat16)
    assert cast["ids"].dtype == jnp.int32 and cast["mask"].dtype == bool
    assert cast["x"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(cast["ids"], tree["ids"])


def test_cast_parameters_keeps_the_ssm_step_size_and_decay_in_float32() -> None:
    layer = {"dt_bias": jnp.ones(2), "a_log": jnp.ones((2, 3)), "skip": jnp.ones(2)}
    cast = cast_parameters({"params": {"layers_0": layer}}, jnp.bfloat16)["params"]["layers_0"]
    assert cast["dt_bias"].dtype == cast["a_log"].dtype == jnp.float32
    assert cast["skip"].dtype == jnp.bfloat16
