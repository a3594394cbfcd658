"""Stacking with k-fold cross-fitting, as sklearn's StackingClassifier does it.

1. For each fold, a fresh copy of each member is fitted on the training part and predicts
   class probabilities for the held-out part: out-of-fold probabilities for every sample.
2. For binary problems the first probability column of each member is dropped (it is
   1 - the second); the members' columns are concatenated into meta-features.
3. The final estimator (default: our L2 logistic regression, C=1) is fitted on
   (meta-features, labels).
4. Each member is refitted on all the data; prediction runs the refitted members, then
   the final estimator.

Members are any objects with `fit(x, y)` and `predict_proba(x)` (sklearn estimators,
`marlax.ensembles.adapter.FlaxClassifier`); they are copied with `copy.deepcopy` before
every fit, so the templates passed in stay unfitted.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from marlax.ensembles.folds import Folds, stratified_folds
from marlax.ensembles.logistic import LogisticRegression
from marlax.validate import require


class ProbabilisticClassifier(Protocol):
    """What a stacking member needs."""

    def fit(self, features: Any, labels: Any) -> Any: ...

    def predict_proba(self, features: Any) -> np.ndarray: ...


def _meta_columns(probs: np.ndarray, num_classes: int) -> np.ndarray:
    """f32[n, C] -> the member's meta-feature columns (first dropped when C == 2)."""
    return probs[:, 1:] if num_classes == 2 else probs


def out_of_fold_probs(
    members: Sequence[ProbabilisticClassifier],
    features: np.ndarray,
    labels: np.ndarray,
    folds: Folds,
) -> np.ndarray:
    """Out-of-fold class probabilities of every member, as sklearn's cross_val_predict.

    Args:
        members: K unfitted member templates.
        features: [n, D]. labels: [n].
        folds: (train indices, test indices) pairs whose test parts partition range(n).

    Returns:
        f32[K, n, C] probabilities, each row predicted by a copy that never saw it.
    """
    num_samples = len(labels)
    tested = np.sort(np.concatenate([test for _, test in folds]))
    require(
        np.array_equal(tested, np.arange(num_samples)),
        "folds",
        f"{len(folds)} folds",
        "test parts that cover every sample exactly once",
    )
    num_classes = len(np.unique(labels))
    probs = np.zeros((len(members), num_samples, num_classes), np.float32)
    for train, test in folds:
        for index, template in enumerate(members):
            member = copy.deepcopy(template).fit(features[train], labels[train])
            probs[index, test] = member.predict_proba(features[test])
    return probs


class StackingClassifier:
    """Members' out-of-fold probabilities -> a final estimator (sklearn-compatible steps).

    Args:
        members: K unfitted templates with fit / predict_proba.
        final_estimator: unfitted template; default `LogisticRegression(c=1.0)`.
        folds: given folds, or None for `stratified_folds(labels, num_folds)` at fit time.
        num_folds: k for the default folds.
    """

    def __init__(
        self,
        members: Sequence[ProbabilisticClassifier],
        final_estimator: Any | None = None,
        folds: Folds | None = None,
        num_folds: int = 5,
    ) -> None:
        require(len(members) >= 1, "members", len(members), "at least one member")
        self.members = list(members)
        self.final_estimator = final_estimator or LogisticRegression()
        self.folds = folds
        self.num_folds = num_folds

    def meta_features(self, member_probs: np.ndarray) -> np.ndarray:
        """f32[K, n, C] member probabilities -> f32[n, K * C'] meta-features."""
        columns = [_meta_columns(probs, len(self.classes_)) for probs in member_probs]
        return np.concatenate(columns, axis=1)

    def fit(self, features: np.ndarray, labels: np.ndarray) -> StackingClassifier:
        """Cross-fit the meta-learner, then refit every member on all the data."""
        labels = np.asarray(labels)
        self.classes_ = np.unique(labels)
        folds = self.folds or stratified_folds(labels, self.num_folds)
        oof = out_of_fold_probs(self.members, features, labels, folds)
        self.final_estimator_ = copy.deepcopy(self.final_estimator)
        self.final_estimator_.fit(self.meta_features(oof), labels)
        self.members_ = [copy.deepcopy(m).fit(features, labels) for m in self.members]
        return self

    def member_probs(self, features: np.ndarray) -> np.ndarray:
        """f32[K, n, C] the refitted members' probabilities."""
        return np.stack([member.predict_proba(features) for member in self.members_])

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """f32[n, C] the final estimator's probabilities on the members' outputs."""
        return self.final_estimator_.predict_proba(self.meta_features(self.member_probs(features)))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """[n] predicted labels."""
        return self.final_estimator_.predict(self.meta_features(self.member_probs(features)))
