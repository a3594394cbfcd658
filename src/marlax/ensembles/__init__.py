"""Ensembles of any flax model: combination rules, fault tolerance, stacking, vmapped members.

`rules` holds the pure jittable rules (average, performance and BMA weights, mixtures,
votes); `fault` drops failing members outside jit; `stacking` cross-fits a meta-learner as
sklearn does; `members` trains K members in one vmap; `module` wraps them as flax modules.
scikit-learn is never imported here (it is a test and benchmark dependency only).
"""

from marlax.ensembles.adapter import FlaxClassifier
from marlax.ensembles.fault import RULES, AllMembersFailedError, EnsembleAnswer, combine_members
from marlax.ensembles.folds import Folds, stratified_folds
from marlax.ensembles.logistic import LogisticRegression
from marlax.ensembles.members import (
    bootstrap_weights,
    fit_member,
    fit_member_list,
    fit_members,
    subset_weights,
)
from marlax.ensembles.module import (
    MODULE_RULES,
    Ensemble,
    ListEnsemble,
    combine_outputs,
    ensemble_variables,
    list_ensemble_variables,
)
from marlax.ensembles.rules import (
    PERFORMANCE_KINDS,
    bma_weights,
    hard_vote,
    mixture_log_probs,
    normalise_weights,
    performance_weights,
    simple_average,
    soft_vote,
    weighted_average,
)
from marlax.ensembles.stacking import StackingClassifier, out_of_fold_probs

__all__ = [
    "MODULE_RULES",
    "PERFORMANCE_KINDS",
    "RULES",
    "AllMembersFailedError",
    "Ensemble",
    "EnsembleAnswer",
    "FlaxClassifier",
    "Folds",
    "ListEnsemble",
    "LogisticRegression",
    "StackingClassifier",
    "bma_weights",
    "bootstrap_weights",
    "combine_members",
    "combine_outputs",
    "ensemble_variables",
    "fit_member",
    "fit_member_list",
    "fit_members",
    "hard_vote",
    "list_ensemble_variables",
    "mixture_log_probs",
    "normalise_weights",
    "out_of_fold_probs",
    "performance_weights",
    "simple_average",
    "soft_vote",
    "stratified_folds",
    "subset_weights",
    "weighted_average",
]
