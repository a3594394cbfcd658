"""train_run_for: every algorithm of the config schema has a learner; ES without evosax is a
clear ConfigError, not an ImportError."""

from __future__ import annotations

import importlib.util

import pytest

from marlax.algorithms import learners
from marlax.algorithms.trained import POLICY_LOADERS
from marlax.config.schema import ALGORITHMS
from marlax.errors import ConfigError


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_every_algorithm_has_a_learner_and_a_policy_loader(algorithm):
    assert callable(learners.train_run_for(algorithm))
    assert algorithm in POLICY_LOADERS


def test_an_unknown_algorithm_is_a_config_error():
    with pytest.raises(ConfigError, match="algorithm"):
        learners.train_run_for("reinforce")


def test_es_without_evosax_names_the_extra(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        learners.importlib.util,
        "find_spec",
        lambda name, *args: None if name == "evosax" else real(name, *args),
    )
    with pytest.raises(ConfigError, match=r"marlax\[evolution\]"):
        learners.train_run_for("es")
