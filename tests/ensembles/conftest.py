"""Fitted scikit-learn members on digits, wine and breast_cancer, shared by the ensemble tests."""

from __future__ import annotations

import pytest

DATASETS = ("digits", "wine", "breast_cancer")


def make_members() -> list:
    """Four unfitted, deterministic scikit-learn classifiers of different kinds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    return [
        ("logistic", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
        ("naive_bayes", GaussianNB()),
        ("knn", KNeighborsClassifier(n_neighbors=5)),
        ("tree", DecisionTreeClassifier(max_depth=5, random_state=0)),
    ]


def load_split(name: str):
    """(x_train, x_test, y_train, y_test): a stratified 70/30 split with a fixed seed."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    features, labels = getattr(datasets, f"load_{name}")(return_X_y=True)
    return train_test_split(features, labels, test_size=0.3, random_state=0, stratify=labels)


@pytest.fixture(scope="module", params=DATASETS)
def fitted_members(request):
    """(dataset name, fitted named members, x_train, x_test, y_train, y_test)."""
    pytest.importorskip("sklearn")
    x_train, x_test, y_train, y_test = load_split(request.param)
    members = [(name, model.fit(x_train, y_train)) for name, model in make_members()]
    return request.param, members, x_train, x_test, y_train, y_test
