"""Count-vector enumeration and ranking against itertools."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from marlax.algorithms.meanfield_q.multisets import (
    enumerate_counts,
    num_multisets,
    rank_counts,
    rank_table,
)


@pytest.mark.parametrize(("bins", "total"), [(1, 3), (2, 0), (3, 2), (3, 5), (4, 3), (9, 2)])
def test_enumeration_matches_itertools_order(bins, total):
    expected = [
        np.bincount(combo, minlength=bins)
        for combo in itertools.combinations_with_replacement(range(bins), total)
    ]
    counts = enumerate_counts(bins, total)
    np.testing.assert_array_equal(counts, np.array(expected).reshape(-1, bins))
    assert len(counts) == num_multisets(bins, total)


@pytest.mark.parametrize(("bins", "total"), [(3, 2), (3, 6), (4, 4), (2, 7)])
def test_rank_inverts_enumeration(bins, total):
    counts = enumerate_counts(bins, total)
    np.testing.assert_array_equal(
        rank_counts(counts, rank_table(bins, total)), np.arange(len(counts))
    )


def test_rank_table_for_larger_total_serves_smaller_totals():
    table = rank_table(3, 9)
    for total in (2, 5):
        counts = enumerate_counts(3, total)
        np.testing.assert_array_equal(rank_counts(counts, table, total), np.arange(len(counts)))


def test_hand_order_for_three_bins_two_items():
    expected = [[2, 0, 0], [1, 1, 0], [1, 0, 1], [0, 2, 0], [0, 1, 1], [0, 0, 2]]
    np.testing.assert_array_equal(enumerate_counts(3, 2), expected)
