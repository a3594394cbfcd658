"""Count vectors (multisets) of k items over m bins, in `itertools` order, and their ranks.

`itertools.combinations_with_replacement(range(m), k)` lists multisets as sorted tuples in
lexicographic order; as count vectors that is descending lexicographic order, e.g. for m=3,
k=2: (2,0,0) (1,1,0) (1,0,1) (0,2,0) (0,1,1) (0,0,2). Both the enumeration and the rank are
array programs (loops run over the m bins only, never over the vectors).
"""

from __future__ import annotations

from math import comb

import numpy as np


def num_multisets(num_bins: int, total: int) -> int:
    """C(total + num_bins - 1, num_bins - 1): count vectors of `num_bins` summing to `total`."""
    return comb(total + num_bins - 1, num_bins - 1)


def enumerate_counts(num_bins: int, total: int) -> np.ndarray:
    """All count vectors in `combinations_with_replacement` order.

    Returns:
        i32[num_multisets(num_bins, total), num_bins].
    """
    prefix = np.zeros((1, 0), dtype=np.int32)
    used = np.zeros(1, dtype=np.int64)
    for _ in range(num_bins - 1):
        # each prefix with `used` items branches into counts (total-used) down to 0
        branches = total - used + 1
        parent = np.repeat(np.arange(len(prefix)), branches)
        starts = np.cumsum(branches) - branches
        offset = np.arange(len(parent)) - np.repeat(starts, branches)
        value = (total - used)[parent] - offset
        prefix = np.concatenate([prefix[parent], value[:, None].astype(np.int32)], axis=1)
        used = used[parent] + value
    last = (total - used).astype(np.int32)[:, None]
    return np.concatenate([prefix, last], axis=1)


def rank_table(num_bins: int, total: int) -> np.ndarray:
    """Table G with rank(c) = sum_p G[p, r_p, c_p], r_p the items left at bin p.

    G[p, r, c] counts the vectors that share c's first p entries and have more than c
    items in bin p: sum_{v=c+1..r} N(num_bins-p-1, r-v), N(L, m) the vectors of length L
    summing to m.

    Returns:
        i64[num_bins, total + 1, total + 1].
    """
    table = np.zeros((num_bins, total + 1, total + 1), dtype=np.int64)
    for position in range(num_bins):
        rest = num_bins - position - 1
        ways = np.array(
            [num_multisets(rest, m) if rest > 0 else int(m == 0) for m in range(total + 1)]
        )
        for left in range(total + 1):
            # v runs over left .. c+1, i.e. m = left - v over 0 .. left-c-1
            tail = np.concatenate([[0], np.cumsum(ways[: left + 1])])
            counts = np.arange(total + 1)
            table[position, left] = np.where(
                counts <= left, tail[np.clip(left - counts, 0, left)], 0
            )
    return table


def rank_counts(counts, table, total=None):
    """Index of each count vector in `enumerate_counts` order (numpy or jax arrays).

    G does not depend on the total, so a table built for a larger total serves every
    smaller one (pass `total`, which may be a traced scalar).

    Args:
        counts: int[..., num_bins], each row summing to `total`.
        table: i64[num_bins, T + 1, T + 1] from `rank_table`, T >= total.
        total: the rows' sum; defaults to T.

    Returns:
        int[...].
    """
    num_bins = counts.shape[-1]
    total = table.shape[1] - 1 if total is None else total
    left = total - (counts.cumsum(axis=-1) - counts)
    bins = np.arange(num_bins)
    return table[bins, left, counts].sum(axis=-1)
