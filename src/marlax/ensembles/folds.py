"""Stratified k-fold splits in numpy, the same folds as sklearn's StratifiedKFold.

Without shuffling the folds equal `sklearn.model_selection.StratifiedKFold(num_folds)`
exactly (same allocation: round robin over the sorted labels, classes encoded by order of
first appearance, each class's samples given to folds in blocks). With a `seed`, each
class's fold assignment is permuted by a numpy Generator (not sklearn's RandomState).
"""

from __future__ import annotations

import numpy as np

from marlax.validate import require, require_int

Folds = list[tuple[np.ndarray, np.ndarray]]
"""(train indices i64[n_train], test indices i64[n_test]) per fold; the tests partition the data."""


def _encode_by_first_appearance(labels: np.ndarray) -> np.ndarray:
    """i64[n]: 0 for the first label seen, 1 for the second new one, and so on."""
    _, first_index, inverse = np.unique(labels, return_index=True, return_inverse=True)
    _, class_of_sorted = np.unique(first_index, return_inverse=True)
    return class_of_sorted[inverse.reshape(-1)]


def stratified_folds(labels: np.ndarray, num_folds: int = 5, seed: int | None = None) -> Folds:
    """Split sample indices into `num_folds` folds with the class proportions kept.

    Args:
        labels: i64[n] (any hashable numpy labels) class of each sample.
        num_folds: k >= 2; at least one class must have >= k samples.
        seed: None for sklearn's unshuffled folds; an int to shuffle within classes.

    Returns:
        k pairs (train indices, test indices), in fold order.
    """
    labels = np.asarray(labels).reshape(-1)
    num_folds = require_int("num_folds", num_folds, minimum=2)
    encoded = _encode_by_first_appearance(labels)
    num_classes = int(encoded.max()) + 1
    counts = np.bincount(encoded)
    require(bool(np.any(counts >= num_folds)), "num_folds", num_folds, "<= the largest class size")
    in_order = np.sort(encoded)
    allocation = np.stack(
        [np.bincount(in_order[i::num_folds], minlength=num_classes) for i in range(num_folds)]
    )
    generator = None if seed is None else np.random.default_rng(seed)
    test_fold = np.empty(len(labels), dtype=np.int64)
    for label in range(num_classes):
        fold_of_sample = np.repeat(np.arange(num_folds), allocation[:, label])
        if generator is not None:
            generator.shuffle(fold_of_sample)
        test_fold[encoded == label] = fold_of_sample
    indices = np.arange(len(labels))
    return [(indices[test_fold != fold], indices[test_fold == fold]) for fold in range(num_folds)]
