"""Stacking against sklearn: same folds, same meta-learner objective, accuracy within 0.5 pp."""

from __future__ import annotations

import numpy as np
import pytest

from marlax.ensembles import LogisticRegression, StackingClassifier, stratified_folds
from marlax.ensembles.stacking import out_of_fold_probs
from marlax.errors import ConfigError
from tests.ensembles.conftest import load_split, make_members

sklearn = pytest.importorskip("sklearn")


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1], [3, 1, 1, 3, 3, 1, 1, 3, 1]])
def test_stratified_folds_equal_sklearn(labels):
    from sklearn.model_selection import StratifiedKFold

    labels = np.array(labels)
    ours = stratified_folds(labels, 3)
    reference = list(StratifiedKFold(3).split(np.zeros(len(labels)), labels))
    for (train, test), (ref_train, ref_test) in zip(ours, reference, strict=True):
        np.testing.assert_array_equal(train, ref_train)
        np.testing.assert_array_equal(test, ref_test)


def test_shuffled_folds_partition_and_keep_class_counts():
    labels = np.repeat([0, 1, 2], [10, 7, 5])
    folds = stratified_folds(labels, 5, seed=3)
    tested = np.concatenate([test for _, test in folds])
    np.testing.assert_array_equal(np.sort(tested), np.arange(len(labels)))
    for train, test in folds:
        assert len(np.intersect1d(train, test)) == 0
        assert np.bincount(labels[test], minlength=3).tolist() in ([2, 2, 1], [2, 1, 1])


@pytest.mark.parametrize("name", ["wine", "breast_cancer"])
def test_logistic_regression_matches_sklearn_coefficients(name):
    """Same objective: multinomial for 3 classes, one binary coefficient vector for 2."""
    from sklearn.linear_model import LogisticRegression as Reference
    from sklearn.preprocessing import StandardScaler

    features, labels = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
    features = StandardScaler().fit_transform(features)
    reference = Reference(C=1.0, tol=1e-10, max_iter=10_000).fit(features, labels)
    ours = LogisticRegression(c=1.0).fit(features, labels)
    np.testing.assert_allclose(
        ours.predict_proba(features), reference.predict_proba(features), atol=2e-3
    )
    if name == "breast_cancer":
        coef = np.asarray(ours.params_["coef"])[:, 0]
        np.testing.assert_allclose(coef, reference.coef_[0], atol=2e-2)


def test_out_of_fold_probs_equal_cross_val_predict():
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x_train, _, y_train, _ = load_split("wine")
    folds = list(StratifiedKFold(5).split(x_train, y_train))
    members = [model for _, model in make_members()]
    ours = out_of_fold_probs(members, x_train, y_train, folds)
    for index, member in enumerate(members):
        reference = cross_val_predict(member, x_train, y_train, cv=folds, method="predict_proba")
        np.testing.assert_allclose(ours[index], reference, rtol=1e-6, atol=1e-30)


def test_folds_that_miss_samples_are_refused():
    folds = [(np.arange(2, 6), np.arange(0, 2))]
    with pytest.raises(ConfigError, match="folds"):
        out_of_fold_probs([], np.zeros((6, 1)), np.zeros(6), folds)


def _stacking_accuracies(name):
    from sklearn.ensemble import StackingClassifier as Reference
    from sklearn.model_selection import StratifiedKFold

    x_train, x_test, y_train, y_test = load_split(name)
    folds = list(StratifiedKFold(5).split(x_train, y_train))
    reference = Reference(make_members(), cv=folds).fit(x_train, y_train)
    ours = StackingClassifier([m for _, m in make_members()], folds=folds).fit(x_train, y_train)
    return np.mean(ours.predict(x_test) == y_test), np.mean(reference.predict(x_test) == y_test)


def test_stacking_within_half_a_point_of_sklearn_on_wine():
    ours, reference = _stacking_accuracies("wine")
    assert abs(ours - reference) <= 0.005


@pytest.mark.slow
@pytest.mark.parametrize("name", ["digits", "breast_cancer"])
def test_stacking_within_half_a_point_of_sklearn(name):
    ours, reference = _stacking_accuracies(name)
    assert abs(ours - reference) <= 0.005


def test_default_folds_are_sklearn_folds():
    x_train, _, y_train, _ = load_split("wine")
    members = [model for _, model in make_members()[1:3]]
    given = StackingClassifier(members, folds=stratified_folds(y_train, 5)).fit(x_train, y_train)
    default = StackingClassifier(members).fit(x_train, y_train)
    np.testing.assert_allclose(
        given.predict_proba(x_train), default.predict_proba(x_train), rtol=1e-6
    )
