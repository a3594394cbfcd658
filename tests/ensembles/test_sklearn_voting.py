"""Voting equals sklearn's VotingClassifier exactly, given the same fitted members.

The members are fitted once and wrapped in `sklearn.frozen.FrozenEstimator`, so the
VotingClassifier uses exactly those members; our votes come from the members'
predict / predict_proba. Weights are integers or dyadic fractions: their sums are exact in
both float32 (ours) and float64 (sklearn), so ties are ties in both.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from marlax.ensembles import hard_vote, soft_vote

WEIGHTS = (None, (2.0, 1.0, 1.0, 3.0), (0.5, 0.25, 0.125, 0.125))


def _sklearn_votes(members, voting, weights, x_train, y_train, features):
    from sklearn.ensemble import VotingClassifier
    from sklearn.frozen import FrozenEstimator

    frozen = [(name, FrozenEstimator(model)) for name, model in members]
    voter = VotingClassifier(frozen, voting=voting, weights=weights).fit(x_train, y_train)
    return voter.predict(features)


def _features(x_train, x_test):
    return np.concatenate([x_train, x_test])


@pytest.mark.parametrize("weights", WEIGHTS)
def test_hard_vote_equals_voting_classifier(fitted_members, weights):
    _, members, x_train, x_test, y_train, _ = fitted_members
    features = _features(x_train, x_test)
    classes = members[0][1].classes_
    labels = np.stack([np.searchsorted(classes, m.predict(features)) for _, m in members])
    member_weights = jnp.ones(len(members)) if weights is None else jnp.array(weights)
    ours = classes[np.asarray(hard_vote(jnp.asarray(labels), member_weights, len(classes)))]
    reference = _sklearn_votes(members, "hard", weights, x_train, y_train, features)
    np.testing.assert_array_equal(ours, reference)


@pytest.mark.parametrize("weights", WEIGHTS)
def test_soft_vote_equals_voting_classifier(fitted_members, weights):
    _, members, x_train, x_test, y_train, _ = fitted_members
    features = _features(x_train, x_test)
    classes = members[0][1].classes_
    probs = np.stack([m.predict_proba(features) for _, m in members]).astype(np.float32)
    member_weights = jnp.ones(len(members)) if weights is None else jnp.array(weights)
    ours = classes[np.asarray(soft_vote(jnp.asarray(probs), member_weights))]
    reference = _sklearn_votes(members, "soft", weights, x_train, y_train, features)
    np.testing.assert_array_equal(ours, reference)


def test_hard_vote_meets_real_ties(fitted_members):
    """The data must exercise the tie rule: some samples have a tied uniform vote."""
    _, members, x_train, x_test, _, _ = fitted_members
    features = _features(x_train, x_test)
    labels = np.stack([m.predict(features) for _, m in members])
    tied = [
        np.sort(np.unique(column, return_counts=True)[1])[-2:].tolist() == [2, 2]
        for column in labels.T
    ]
    assert sum(tied) >= 1
