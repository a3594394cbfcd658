"""The minibatch permutation: a permutation, deterministic per key, and uniform."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from marlax.algorithms.common import shuffle
from marlax.algorithms.common.shuffle import permutation, permutation_rounds


@pytest.mark.parametrize("num_items", [1, 2, 7, 64, 1000, 24_576])
def test_is_a_permutation_and_deterministic(num_items: int) -> None:
    key = jax.random.key(3)
    order = np.asarray(permutation(key, num_items))
    assert order.dtype == np.int32
    np.testing.assert_array_equal(np.sort(order), np.arange(num_items))
    np.testing.assert_array_equal(
        order, np.asarray(jax.jit(permutation, static_argnums=1)(key, num_items))
    )
    if num_items >= 64:
        other = np.asarray(permutation(jax.random.key(4), num_items))
        assert (order != other).mean() > 0.9  # another key, another order


def test_rounds_give_at_least_twice_log2_n_random_bits() -> None:
    # index bits: 1 -> 31 random bits; 24,576 -> 15 index bits, 17 random; 393,216 -> 19, 13
    assert permutation_rounds(2) == 1
    assert permutation_rounds(24_576) == 2  # 34 bits >= 2 * 14.6
    assert permutation_rounds(393_216) == 3  # 39 bits >= 2 * 18.6


def test_few_random_bits_fall_back_to_jax_permutation(monkeypatch: pytest.MonkeyPatch) -> None:
    # n > 2^24 leaves fewer than MIN_RANDOM_BITS per u32; raising the floor shows the path on
    # a small n (100 items: 7 index bits, 25 random bits < 30)
    monkeypatch.setattr(shuffle, "MIN_RANDOM_BITS", 30)
    key = jax.random.key(0)
    np.testing.assert_array_equal(permutation(key, 100), jax.random.permutation(key, 100))


def test_positions_are_uniform() -> None:
    """Over 4000 keys, each of 8 items lands in each of 8 positions 1/8 of the time
    (chi-square over the 64 cells, 49 degrees of freedom: 99.9% quantile 85.4), and the
    pair (0, 1) is in order half the time."""
    keys = jax.random.split(jax.random.key(1), 4000)
    orders = np.asarray(jax.vmap(lambda k: permutation(k, 8))(keys))  # i32[4000, 8]
    counts = np.zeros((8, 8))
    for position in range(8):
        counts[:, position] = np.bincount(orders[:, position], minlength=8)
    expected = len(keys) / 8
    chi_square = ((counts - expected) ** 2 / expected).sum()
    assert chi_square < 85.4, chi_square
    first_before_second = (np.argmax(orders == 0, axis=1) < np.argmax(orders == 1, axis=1)).mean()
    assert abs(first_before_second - 0.5) < 0.03
