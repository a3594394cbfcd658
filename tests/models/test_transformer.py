"""Transformer-over-time specifics: the attention window, episode masks inside a sequence, RoPE."""

from __future__ import annotations

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np

from marlax.models.attention import rope
from tests.models.helpers import OBS_DIM, TINY_CORES, compiled, tiny_model

T, B, N = 7, 2, 3


def test_window_sees_exactly_the_last_context_length_steps(key: jax.Array) -> None:
    net = compiled("transformer")
    settings = TINY_CORES["transformer"]
    assert (settings["context_length"], settings["num_layers"]) == (3, 2)
    carry = net.model.initialize_carry((B, N))
    obs_seq = jax.random.normal(key, (T, B, N, OBS_DIM))
    no_reset = jnp.zeros((T, B, N), bool)
    _, (logits, _) = net.sequence(net.params, carry, obs_seq, no_reset)
    _, (perturbed, _) = net.sequence(net.params, carry, obs_seq.at[0].add(3.0), no_reset)
    changed = np.abs(np.asarray(perturbed - logits)).max(axis=(1, 2, 3)) > 1e-6
    # each layer sees L = 3 steps; two layers reach 2 * (L - 1) + 1 = 5 steps back
    np.testing.assert_array_equal(changed, [True] * 5 + [False] * 2)


def test_reset_inside_a_sequence_starts_a_fresh_episode(key: jax.Array) -> None:
    net = compiled("transformer")
    carry = net.model.initialize_carry((B, N))
    obs_seq = jax.random.normal(key, (T, B, N, OBS_DIM))
    reset_seq = jnp.zeros((T, B, N), bool).at[4, 0, 0].set(True)
    _, (logits, _) = net.sequence(net.params, carry, obs_seq, reset_seq)
    # row (0, 0) after the reset equals a fresh sequence that starts at step 4
    fresh_obs = jnp.concatenate([obs_seq[4:], obs_seq[:4]])
    _, (fresh, _) = net.sequence(net.params, carry, fresh_obs, jnp.roll(reset_seq, -4, axis=0))
    chex.assert_trees_all_close(logits[4:, 0, 0], fresh[:3, 0, 0], atol=2e-5, rtol=2e-5)
    # row (1, 0) has no reset: its step 4 still sees steps 2 and 3
    assert not np.allclose(logits[4:, 1, 0], fresh[:3, 1, 0], atol=1e-4)


def test_context_length_one_is_memoryless(key: jax.Array) -> None:
    model = tiny_model("transformer", context_length=1, num_layers=1, norm="rmsnorm")
    carry = model.initialize_carry((B,))
    obs_seq = jax.random.normal(key, (T, B, OBS_DIM))
    no_reset = jnp.zeros((T, B), bool)
    params = jax.jit(model.init)(key, carry, obs_seq[0], no_reset[0])
    sequence = jax.jit(functools.partial(model.apply, params, carry, method="sequence"))
    _, (logits, _) = sequence(obs_seq, no_reset)
    _, (reversed_logits, _) = sequence(obs_seq[::-1], no_reset)
    chex.assert_trees_all_close(logits, reversed_logits[::-1], atol=1e-5)
    assert not np.allclose(logits[0], logits[1], atol=1e-4)


def test_rope_rotates_pairs_by_position_times_frequency() -> None:
    # head_dim 2: one pair, frequency base**0 = 1, so position p rotates by p radians
    unit = jnp.array([1.0, 0.0]).reshape(1, 1, 2)  # [S=1, heads=1, head_dim=2]
    rotated = rope(jnp.tile(unit, (3, 1, 1)), jnp.array([0, 1, 2]), 10000.0)[:, 0]
    expected = np.array([[1.0, 0.0], [np.cos(1.0), np.sin(1.0)], [np.cos(2.0), np.sin(2.0)]])
    np.testing.assert_allclose(rotated, expected, atol=1e-6)


def test_rope_scores_depend_only_on_relative_position(key: jax.Array) -> None:
    query_key, key_key = jax.random.split(key)
    query = jax.random.normal(query_key, (1, 1, 8))
    keys = jax.random.normal(key_key, (1, 1, 8))

    def score(query_pos: int, key_pos: int) -> jax.Array:
        rotated_q = rope(query, jnp.array([query_pos]), 100.0)
        rotated_k = rope(keys, jnp.array([key_pos]), 100.0)
        return jnp.sum(rotated_q * rotated_k)

    np.testing.assert_allclose(score(5, 2), score(3, 0), rtol=1e-5)
    np.testing.assert_allclose(score(0, -4), score(10, 6), rtol=1e-5)
    assert not np.isclose(score(5, 2), score(5, 3), rtol=1e-3)
