"""Every model speaks the recurrent interface, and its sequence path equals its step path."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.models.helpers import (
    MEMORY_NAMES,
    MODEL_NAMES,
    NUM_ACTIONS,
    OBS_DIM,
    compiled,
    tiny_model,
    unroll,
)

T, B, N = 7, 2, 3


def _inputs(key: jax.Array, batch_shape: tuple[int, ...] = (B, N)):
    obs_key, reset_key = jax.random.split(key)
    obs_seq = jax.random.normal(obs_key, (T, *batch_shape, OBS_DIM))
    reset_seq = jax.random.bernoulli(reset_key, 0.3, (T, *batch_shape))
    return obs_seq, reset_seq


def _assert_close(actual, expected) -> None:
    chex.assert_trees_all_close(actual, expected, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_sequence_equals_unrolled_steps_with_resets(name: str) -> None:
    net = compiled(name)
    carry = net.model.initialize_carry((B, N))
    obs_seq, reset_seq = _inputs(jax.random.key(1))
    # resets mid-sequence on some rows, none on row (0, 0), and one at t = 0
    reset_seq = reset_seq.at[:, 0, 0].set(False).at[0, 1, 1].set(True).at[3, 1, 2].set(True)
    carry_seq, out_seq = net.sequence(net.params, carry, obs_seq, reset_seq)
    carry_loop, out_loop = unroll(net.step, net.params, carry, obs_seq, reset_seq)
    _assert_close(out_seq, out_loop)
    _assert_close(carry_seq, carry_loop)
    # a second sequence that starts from a non-empty carry (rollout to rollout)
    obs_next, reset_next = _inputs(jax.random.key(2))
    _, out_next_seq = net.sequence(net.params, carry_seq, obs_next, reset_next)
    _, out_next_loop = unroll(net.step, net.params, carry_loop, obs_next, reset_next)
    _assert_close(out_next_seq, out_next_loop)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_reset_clears_memory(name: str) -> None:
    net = compiled(name)
    carry = net.model.initialize_carry((B, N))
    sequence = functools.partial(net.sequence, net.params)
    history_a, _ = _inputs(jax.random.key(3))
    history_b, _ = _inputs(jax.random.key(4))
    future, _ = _inputs(jax.random.key(5))
    no_reset = jnp.zeros((T, B, N), bool)
    reset_first = no_reset.at[0].set(True)
    carry_a, _ = sequence(carry, history_a, no_reset)
    carry_b, _ = sequence(carry, history_b, no_reset)
    _, after_a = sequence(carry_a, future, reset_first)
    _, after_b = sequence(carry_b, future, reset_first)
    _, fresh = sequence(carry, future, reset_first)
    _assert_close(after_a, after_b)
    _assert_close(after_a, fresh)
    if name in MEMORY_NAMES:  # without the reset the history must matter
        _, (kept_a, _) = sequence(carry_a, future, no_reset)
        _, (kept_b, _) = sequence(carry_b, future, no_reset)
        assert not np.allclose(kept_a[0], kept_b[0], atol=1e-4)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("batch_shape", [(B,), (B, N)])
def test_shapes_for_batch_shapes(name: str, batch_shape: tuple[int, ...], key: jax.Array) -> None:
    # traced, not compiled: only shapes and dtypes are checked here
    net = compiled(name)
    carry = net.model.initialize_carry(batch_shape)
    obs_seq, reset_seq = _inputs(key, batch_shape)
    params = jax.eval_shape(net.model.init, key, carry, obs_seq[0], reset_seq[0])
    chex.assert_trees_all_equal_shapes_and_dtypes(params, net.params)
    step_out = jax.eval_shape(net.model.apply, params, carry, obs_seq[0], reset_seq[0])
    step_carry, (logits, value) = step_out
    chex.assert_shape(logits, (*batch_shape, NUM_ACTIONS))
    chex.assert_shape(value, batch_shape)
    chex.assert_trees_all_equal_shapes_and_dtypes(step_carry, carry)
    seq_out = jax.eval_shape(net.sequence, params, carry, obs_seq, reset_seq)
    seq_carry, (logits_seq, value_seq) = seq_out
    chex.assert_shape(logits_seq, (T, *batch_shape, NUM_ACTIONS))
    chex.assert_shape(value_seq, (T, *batch_shape))
    chex.assert_trees_all_equal_shapes_and_dtypes(seq_carry, carry)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_jit_equals_no_jit_and_single_step_sequence(name: str) -> None:
    net = compiled(name)
    carry = net.model.initialize_carry((B, N))
    obs_seq, reset_seq = _inputs(jax.random.key(6))
    jitted = net.sequence(net.params, carry, obs_seq, reset_seq)
    eager = net.model.apply(net.params, carry, obs_seq, reset_seq, method="sequence")
    _assert_close(jitted, eager)
    chex.assert_tree_all_finite(jitted)
    # T = 1: a one-step sequence is the step
    _, (logits_one, value_one) = net.sequence(net.params, carry, obs_seq[:1], reset_seq[:1])
    _, (logits_step, value_step) = net.step(net.params, carry, obs_seq[0], reset_seq[0])
    _assert_close((logits_one[0], value_one[0]), (logits_step, value_step))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_init_is_deterministic_under_a_fixed_key(name: str) -> None:
    net = compiled(name)
    carry = net.model.initialize_carry((B, N))
    obs, reset = jnp.zeros((B, N, OBS_DIM)), jnp.zeros((B, N), bool)
    chex.assert_trees_all_equal(net.init(jax.random.key(0), carry, obs, reset), net.params)
    other = net.init(jax.random.key(8), carry, obs, reset)
    # every random weight (kernels; biases and norm scales start constant) depends on the key
    for path, weight in jax.tree_util.tree_leaves_with_path(net.params):
        if "kernel" in jax.tree_util.keystr(path):
            other_weight = functools.reduce(lambda tree, entry: tree[entry.key], path, other)
            assert not np.array_equal(weight, other_weight), jax.tree_util.keystr(path)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_sequence_init_matches_step_init(name: str, key: jax.Array) -> None:
    """Both paths create the same parameters, so PPO may init with either."""
    carry = tiny_model(name).initialize_carry((B, N))
    obs_seq, reset_seq = _inputs(key)
    init = functools.partial(tiny_model(name).init, key, carry)
    step_params = jax.eval_shape(init, obs_seq[0], reset_seq[0])
    seq_params = jax.eval_shape(functools.partial(init, method="sequence"), obs_seq, reset_seq)
    chex.assert_trees_all_equal_shapes_and_dtypes(step_params, seq_params)
