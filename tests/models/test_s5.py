"""The S5 core: sequence mode equals the step loop across resets, the HiPPO-LegS
initialisation and zero-order hold against hand values, resets cut the past, bf16 and the
registry."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.models import make_model
from marlax.models.registry import has_memory
from marlax.models.s5 import (
    S5Core,
    diagonalised_hippo,
    discretize_zoh,
    hippo_legs,
    initial_state_matrix,
)

T, BATCH, FEATURES = 16, (3, 2), 5
RESET_STEPS = {0: (3, 7, 8, 13), 1: (0, 10)}
"""Episode starts per batch row (row 2 never resets; row 1 drops the starting carry at t=0)."""
SETTINGS = {
    "conj_sym": {"conj_sym": True, "blocks": 1, "activation": "half_glu1"},
    "no_conj_sym_blocks": {"conj_sym": False, "blocks": 2, "activation": "full_glu"},
    "conj_sym_blocks": {"conj_sym": True, "blocks": 4, "activation": "half_glu2"},
}


def _core(**overrides) -> S5Core:
    """8 channels, 8 states, 2 layers; timescales large enough that the state turns over."""
    settings = {"d_model": 8, "state_size": 8, "num_layers": 2, "dt_min": 0.05, "dt_max": 0.5}
    return S5Core(**(settings | overrides))


def _reset_seq() -> jax.Array:
    """bool[T, *BATCH]: the rows of `RESET_STEPS`, plus a few random starts on agent 1."""
    reset = np.zeros((T, *BATCH), bool)
    for row, steps in RESET_STEPS.items():
        reset[list(steps), row, :] = True
    extra = np.asarray(jax.random.bernoulli(jax.random.key(7), 0.15, (T, BATCH[0])))
    reset[:, :, 1] |= extra
    return jnp.asarray(reset)


@functools.cache
def _setup(name: str):
    """(core, params, features f32[T, *BATCH, D], a non-empty carry from a previous segment)."""
    core = _core(**SETTINGS[name])
    init_key, previous_key, features_key = jax.random.split(jax.random.key(0), 3)
    features = jax.random.normal(features_key, (T, *BATCH, FEATURES))
    empty = core.initialize_carry(BATCH)
    params = jax.jit(functools.partial(core.init, method="sequence"))(
        init_key, empty, features, _reset_seq()
    )
    previous = jax.random.normal(previous_key, (T, *BATCH, FEATURES))
    no_reset = jnp.zeros((T, *BATCH), bool)
    sequence = jax.jit(functools.partial(core.apply, method="sequence"))
    start, _ = sequence(params, empty, previous, no_reset)
    return core, params, features, start


def _step_loop(step, params, carry, features, reset_seq):
    outputs = []
    for index in range(features.shape[0]):
        carry, output = step(params, carry, features[index], reset_seq[index])
        outputs.append(output)
    return carry, jnp.stack(outputs)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_sequence_equals_step_loop_across_resets_from_a_started_state(name: str) -> None:
    core, params, features, start = _setup(name)
    assert float(jnp.linalg.norm(start)) > 0.1  # the starting state is not empty
    reset_seq = _reset_seq()
    sequence = jax.jit(functools.partial(core.apply, method="sequence"))
    seq_carry, seq_out = sequence(params, start, features, reset_seq)
    step_carry, step_out = _step_loop(jax.jit(core.apply), params, start, features, reset_seq)
    assert seq_carry.shape == (*BATCH, core.num_layers, core.num_states, 2)
    np.testing.assert_allclose(seq_out, step_out, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(seq_carry, step_carry, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("method", ["__call__", "sequence"])
def test_jit_equals_no_jit(method: str) -> None:
    core, params, features, start = _setup("conj_sym")
    reset = _reset_seq()
    # a short sequence: eager flax dispatches op by op
    inputs = (features[:5], reset[:5]) if method == "sequence" else (features[3], reset[3])
    apply = functools.partial(core.apply, method=method)
    eager_carry, eager_out = apply(params, start, *inputs)
    jit_carry, jit_out = jax.jit(apply)(params, start, *inputs)
    np.testing.assert_allclose(jit_out, eager_out, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jit_carry, eager_carry, rtol=1e-6, atol=1e-6)


def test_a_reset_makes_later_outputs_independent_of_earlier_inputs() -> None:
    core, params, features, start = _setup("conj_sym")
    reset_step = 7  # batch row 0 starts an episode here (RESET_STEPS)
    reset_seq = _reset_seq()
    noise = jax.random.normal(jax.random.key(9), features[:reset_step].shape)
    perturbed = features.at[:reset_step].add(noise)
    other_start = start + jax.random.normal(jax.random.key(10), start.shape)
    sequence = jax.jit(functools.partial(core.apply, method="sequence"))
    _, outputs = sequence(params, start, features, reset_seq)
    _, perturbed_outputs = sequence(params, other_start, perturbed, reset_seq)
    # row 0 from its reset on: unchanged; before it, and row 2 (no reset) anywhere: changed
    np.testing.assert_allclose(
        perturbed_outputs[reset_step:, 0], outputs[reset_step:, 0], rtol=1e-6, atol=1e-6
    )
    assert float(jnp.abs(perturbed_outputs[:reset_step, 0] - outputs[:reset_step, 0]).max()) > 1e-2
    assert float(jnp.abs(perturbed_outputs[reset_step:, 2] - outputs[reset_step:, 2]).max()) > 1e-4


def test_gradients_are_finite_and_nonzero_at_t_1024() -> None:
    core = _core(num_layers=1)  # one layer halves the compile; its gradients are what count
    length, batch = 1024, (2,)
    features = jax.random.normal(jax.random.key(1), (length, *batch, FEATURES))
    reset_seq = jnp.zeros((length, *batch), bool).at[jnp.array([0, 300, 900])].set(True)
    carry = core.initialize_carry(batch)
    params = jax.jit(core.init)(jax.random.key(0), carry, features[0], reset_seq[0])  # any T

    def loss(params):
        final, outputs = core.apply(params, carry, features, reset_seq, method="sequence")
        return jnp.mean(outputs**2) + jnp.mean(final**2)

    grads = jax.jit(jax.grad(loss))(params)
    for path, leaf in jax.tree_util.tree_leaves_with_path(grads):
        assert bool(jnp.all(jnp.isfinite(leaf))), path
    for name in ("lambda_re", "lambda_im", "log_step", "input_matrix", "output_matrix"):
        assert float(jnp.abs(grads["params"]["layers_0"][name]).max()) > 0, name


def test_hippo_legs_and_its_normal_part_for_two_states_by_hand() -> None:
    # A = -[[1, 0], [sqrt 3, 2]]; A + P P^T = [[-1/2, sqrt3/2], [-sqrt3/2, -1/2]]
    np.testing.assert_allclose(hippo_legs(2), [[-1.0, 0.0], [-np.sqrt(3.0), -2.0]])
    eigenvalues, _ = diagonalised_hippo(2)
    half_root3 = np.sqrt(3.0) / 2
    np.testing.assert_allclose(eigenvalues, [-0.5 - 1j * half_root3, -0.5 + 1j * half_root3])


def _reference_dplr_eigenvalues(size: int) -> np.ndarray:
    """`make_DPLR_HiPPO`'s steps (lindermanlab/S5, s5/ssm_init.py), written out in numpy."""
    root = np.sqrt(1 + 2 * np.arange(size))
    hippo = -(np.tril(root[:, None] * root[None, :]) - np.diag(np.arange(size)))
    low_rank = np.sqrt(np.arange(size) + 0.5)
    normal_part = hippo + low_rank[:, None] * low_rank[None, :]
    real = np.mean(np.diagonal(normal_part)) * np.ones(size)
    imag, _ = np.linalg.eigh(normal_part * -1j)  # eigh reads the lower triangle, real diagonal
    return real + 1j * imag


@pytest.mark.parametrize("size", [4, 8, 16])
def test_diagonalised_hippo_matches_the_reference_and_diagonalises_the_normal_part(size) -> None:
    eigenvalues, eigenvectors = diagonalised_hippo(size)
    np.testing.assert_allclose(eigenvalues, _reference_dplr_eigenvalues(size), atol=1e-10)
    np.testing.assert_allclose(eigenvalues.real, -0.5)
    # V diag(Lambda) V^* rebuilds A + P P^T, and V is unitary
    low_rank = np.sqrt(np.arange(size) + 0.5)
    normal_part = hippo_legs(size) + low_rank[:, None] * low_rank[None, :]
    rebuilt = (eigenvectors * eigenvalues[None, :]) @ eigenvectors.conj().T
    np.testing.assert_allclose(rebuilt, normal_part, atol=1e-9)
    np.testing.assert_allclose(eigenvectors.conj().T @ eigenvectors, np.eye(size), atol=1e-10)


def test_block_and_conjugate_initialisation() -> None:
    eigenvalues, eigenvectors = initial_state_matrix(16, 2, True)
    block_values, block_vectors = diagonalised_hippo(8)
    assert eigenvalues.shape == (8,) and eigenvectors.shape == (16, 8)
    # each block keeps one eigenvalue per conjugate pair: the other half are their conjugates
    np.testing.assert_allclose(eigenvalues, np.tile(block_values[:4], 2))
    np.testing.assert_allclose(
        np.sort_complex(block_values[4:].conj()), np.sort_complex(block_values[:4]), atol=1e-10
    )
    np.testing.assert_allclose(eigenvectors[8:, 4:], block_vectors[:, :4])
    np.testing.assert_array_equal(eigenvectors[:8, 4:], 0)


def test_initial_parameters_follow_s5() -> None:
    core, params, _, _ = _setup("conj_sym_blocks")
    layer = params["params"]["layers_0"]
    expected, _ = initial_state_matrix(core.state_size, core.blocks, core.conj_sym)
    np.testing.assert_allclose(layer["lambda_re"], expected.real, rtol=1e-6)
    np.testing.assert_allclose(layer["lambda_im"], expected.imag, rtol=1e-6)
    assert bool(jnp.all(layer["lambda_re"] < 0))
    log_step = layer["log_step"]
    assert bool(jnp.all((log_step >= np.log(core.dt_min)) & (log_step <= np.log(core.dt_max))))
    assert len(np.unique(np.asarray(log_step))) == log_step.size  # one timescale per state


def test_zero_order_hold_by_hand() -> None:
    # scalar x' = -x + u over dt = 0.1: x_{k+1} = e^-0.1 x_k + (1 - e^-0.1) u_k
    decay, input_scale = discretize_zoh(jnp.array([-1.0 + 0j], jnp.complex64), jnp.array([0.1]))
    np.testing.assert_allclose(decay, [np.exp(-0.1)], rtol=1e-6)
    np.testing.assert_allclose(input_scale, [1 - np.exp(-0.1)], rtol=1e-6)
    # complex: the exact integral of e^{Lambda s} over [0, dt]
    eigenvalue, step = -0.5 + 2.0j, 0.3
    decay, input_scale = discretize_zoh(jnp.array([eigenvalue], jnp.complex64), jnp.array([step]))
    np.testing.assert_allclose(decay, [np.exp(eigenvalue * step)], rtol=1e-6)
    np.testing.assert_allclose(
        input_scale, [(np.exp(eigenvalue * step) - 1) / eigenvalue], rtol=1e-6
    )


def _first_decay(core: S5Core, params) -> jax.Array:
    """Lambda_bar c64[P] of the first layer."""
    return core.apply(params, method=lambda module: module.layers[0].discretized()[0])


def test_clip_eigs_keeps_the_decay_inside_the_unit_circle() -> None:
    core, params, _, _ = _setup("conj_sym")
    grown = jax.tree_util.tree_map_with_path(
        lambda path, leaf: (
            jnp.full_like(leaf, 3.0) if "lambda_re" in jax.tree_util.keystr(path) else leaf
        ),
        params,
    )
    assert float(jnp.abs(_first_decay(core, grown)).max()) < 1.0
    assert float(jnp.abs(_first_decay(core.clone(clip_eigs=False), grown)).min()) > 1.0


def test_registry_builds_s5_with_memory_and_bf16_matches_float32() -> None:
    settings = {"num_actions": 4, "encoder_settings": {"hidden_sizes": (8,)}}
    settings |= {"d_model": 8, "state_size": 8, "num_layers": 2}
    f32_model = make_model("s5", **settings)
    bf16_model = make_model("s5", dtype="bfloat16", **settings)
    assert isinstance(f32_model.core, S5Core) and has_memory(f32_model)
    obs = jax.random.normal(jax.random.key(2), (T, *BATCH, FEATURES))
    reset_seq = _reset_seq()
    carry = f32_model.initialize_carry(BATCH)
    params = jax.jit(f32_model.init)(jax.random.key(0), carry, obs[0], reset_seq[0])
    sequence = functools.partial(f32_model.apply, method="sequence")
    start, _ = jax.jit(sequence)(params, carry, obs[::-1], jnp.zeros_like(reset_seq))
    expected = jax.jit(sequence)(params, start, obs, reset_seq)
    actual = jax.jit(functools.partial(bf16_model.apply, method="sequence"))(
        params, start, obs, reset_seq
    )
    for got, want in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        assert got.dtype == jnp.float32
        assert float(jnp.linalg.norm(got - want) / jnp.linalg.norm(want)) < 5e-2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("state_size", 6),  # conj_sym halves each of 2 blocks: needs a multiple of 4
        ("blocks", 0),
        ("dt_min", 0.0),
        ("dt_max", 1e-4),  # below dt_min
        ("conj_sym", 1),
        ("clip_eigs", "yes"),
        ("activation", "relu"),
    ],
)
def test_bad_settings_name_their_field(field: str, value) -> None:
    settings = {"state_size": 8, "blocks": 2} | {field: value}
    with pytest.raises(ConfigError) as error:
        S5Core(**settings)
    assert error.value.field == f"core.{field}"
