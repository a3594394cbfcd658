"""marlax.ensembles against scikit-learn 1.9 on digits, wine and breast_cancer.

Four deterministic sklearn members (scaled logistic regression, Gaussian naive Bayes, 5-NN,
depth-5 tree) fitted on a stratified 70/30 split (seed 0). Voting: sklearn's VotingClassifier
over the same fitted members (FrozenEstimator) vs our hard_vote / soft_vote on the members'
predict / predict_proba, over train + test rows; agreement = fraction of identical labels
(must be 1.0), with uniform weights and with weights (2, 1, 1, 3). Stacking: sklearn's
StackingClassifier vs ours with the same 5 StratifiedKFold folds, test accuracy. BMA weights
come from each member's out-of-fold log-likelihood on the training rows (temperature 1 and a
tempered version, temperature = number of training rows, i.e. the mean log-likelihood).

    python benchmarks/ensembles_sklearn.py [--datasets digits wine breast_cancer]
"""

from __future__ import annotations

import argparse
from functools import partial

import jax.numpy as jnp
import numpy as np
from sklearn import datasets
from sklearn.ensemble import StackingClassifier as SklearnStacking
from sklearn.ensemble import VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from marlax.ensembles import (
    StackingClassifier,
    bma_weights,
    hard_vote,
    out_of_fold_probs,
    soft_vote,
)

VOTE_WEIGHTS = (2.0, 1.0, 1.0, 3.0)


def make_members():
    return [
        ("logistic", make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))),
        ("naive_bayes", GaussianNB()),
        ("knn", KNeighborsClassifier(n_neighbors=5)),
        ("tree", DecisionTreeClassifier(max_depth=5, random_state=0)),
    ]


def vote_agreement(members, voting, weights, x_train, y_train, features):
    """Fraction of rows where our vote equals VotingClassifier's."""
    classes = members[0][1].classes_
    frozen = [(name, FrozenEstimator(model)) for name, model in members]
    reference = VotingClassifier(frozen, voting=voting, weights=weights).fit(x_train, y_train)
    member_weights = jnp.ones(len(members)) if weights is None else jnp.array(weights)
    if voting == "hard":
        labels = np.stack([np.searchsorted(classes, m.predict(features)) for _, m in members])
        ours = hard_vote(jnp.asarray(labels), member_weights, len(classes))
    else:
        probs = np.stack([m.predict_proba(features) for _, m in members]).astype(np.float32)
        ours = soft_vote(jnp.asarray(probs), member_weights)
    return float(np.mean(classes[np.asarray(ours)] == reference.predict(features)))


def ensemble_accuracy(members, weights, x_test, y_test):
    """Test accuracy of the weighted probability average (soft vote)."""
    probs = np.stack([m.predict_proba(x_test) for _, m in members]).astype(np.float32)
    labels = members[0][1].classes_[np.asarray(soft_vote(jnp.asarray(probs), weights))]
    return float(np.mean(labels == y_test))


def run(name):
    features, labels = getattr(datasets, f"load_{name}")(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.3, random_state=0, stratify=labels
    )
    members = [(n, model.fit(x_train, y_train)) for n, model in make_members()]
    every_row = np.concatenate([x_train, x_test])
    folds = list(StratifiedKFold(5).split(x_train, y_train))
    reference = SklearnStacking(make_members(), cv=folds).fit(x_train, y_train)
    ours = StackingClassifier([m for _, m in make_members()], folds=folds).fit(x_train, y_train)
    oof = out_of_fold_probs([m for _, m in make_members()], x_train, y_train, folds)
    targets = np.searchsorted(np.unique(y_train), y_train)
    log_likelihood = np.log(np.maximum(oof[:, np.arange(len(targets)), targets], 1e-12)).sum(1)
    bma = bma_weights(jnp.asarray(log_likelihood))
    tempered = bma_weights(jnp.asarray(log_likelihood), float(len(targets)))
    agree = partial(vote_agreement, members, x_train=x_train, y_train=y_train, features=every_row)
    row = {
        "dataset": name,
        "hard agree": agree("hard", None),
        "hard agree (w)": agree("hard", VOTE_WEIGHTS),
        "soft agree": agree("soft", None),
        "soft agree (w)": agree("soft", VOTE_WEIGHTS),
        "stack sklearn": float(np.mean(reference.predict(x_test) == y_test)),
        "stack ours": float(np.mean(ours.predict(x_test) == y_test)),
        "best member": max(float(np.mean(m.predict(x_test) == y_test)) for _, m in members),
        "average": ensemble_accuracy(members, jnp.ones(len(members)), x_test, y_test),
        "BMA": ensemble_accuracy(members, bma, x_test, y_test),
        "BMA (T=n)": ensemble_accuracy(members, tempered, x_test, y_test),
        "BMA weights (T=n)": " ".join(f"{w:.2f}" for w in np.asarray(tempered)),
    }
    row["diff pp"] = 100 * (row["stack ours"] - row["stack sklearn"])
    return row


COLUMNS = (
    "dataset", "hard agree", "hard agree (w)", "soft agree", "soft agree (w)", "stack sklearn",
    "stack ours", "diff pp", "best member", "average", "BMA", "BMA (T=n)", "BMA weights (T=n)",
)  # fmt: skip


def _cell(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", "wine", "breast_cancer"])
    args = parser.parse_args()
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for name in args.datasets:
        row = run(name)
        print("| " + " | ".join(_cell(row[column]) for column in COLUMNS) + " |", flush=True)
    print("\nMembers: logistic, naive_bayes, knn, tree; weighted votes use weights", VOTE_WEIGHTS)


if __name__ == "__main__":
    main()
