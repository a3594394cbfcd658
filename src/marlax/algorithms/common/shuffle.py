"""A random permutation for minibatch shuffling that is cheap on XLA:CPU.

`jax.random.permutation(key, n)` sorts (random key, index) pairs in two operand arrays. On
XLA:CPU a two-operand sort is several times slower than a sort of one u32 array: for the
24,576 samples of a JaxMARL-sized PPO batch it takes about 10 ms, 180 ms at 393k samples,
and PPO draws one permutation per epoch (measured in `benchmarks/results/train_throughput.md`).
`permutation` packs each index into the low bits of its random key and sorts that one array:
about 5x faster at every size, same distribution up to ties.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

MIN_RANDOM_BITS = 8
"""Below this many random bits per u32 (n > 2^24) fall back to `jax.random.permutation`."""


def _index_bits(num_items: int) -> int:
    """Low bits of the u32 that hold an item's position: ceil(log2 n), at least 1."""
    return max(1, math.ceil(math.log2(max(num_items, 2))))


def permutation_rounds(num_items: int) -> int:
    """Sort rounds so the random bits drawn per item total at least 2 * log2(n).

    Items whose random bits tie keep their relative order within a round; with 2*log2(n) bits
    the expected number of tied pairs, n^2 / 2^(bits+1), stays below one half. Each round
    sorts `32 - ceil(log2 n)` fresh random bits (the rest of the u32 holds the index).
    """
    random_bits = 32 - _index_bits(num_items)
    return max(1, math.ceil(2 * math.log2(max(num_items, 2)) / random_bits))


def permutation(key: jax.Array, num_items: int) -> jax.Array:
    """A uniformly random ordering of `0 .. n-1`: i32[n] (a static n).

    Each round draws u32 random bits, clears the low `ceil(log2 n)` bits, puts the item's
    position there and sorts the single u32 array: the low bits of the sorted words are then
    a random permutation (ties in the random part keep position order). Rounds compose, so
    ties left by one round are shuffled by the next.
    """
    index_bits = _index_bits(num_items)
    if 32 - index_bits < MIN_RANDOM_BITS:
        return jax.random.permutation(key, num_items)
    positions = jnp.arange(num_items, dtype=jnp.uint32)
    index_mask = jnp.uint32((1 << index_bits) - 1)
    order = positions
    for round_key in jax.random.split(key, permutation_rounds(num_items)):
        bits = jax.random.bits(round_key, (num_items,), jnp.uint32)
        packed = (bits & ~index_mask) | positions
        order = order[jnp.sort(packed) & index_mask]
    return order.astype(jnp.int32)
