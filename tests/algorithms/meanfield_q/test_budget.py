"""Every simulation field is bounded, and so is the work of tables, training and deployment."""

from __future__ import annotations

import time

import jax
import numpy as np
import pytest

from marlax.algorithms.meanfield_q import parse_config, tabulate_environment
from marlax.algorithms.meanfield_q.config import validate_ks
from marlax.algorithms.meanfield_q.constants import SIMULATION_BOUNDS
from marlax.algorithms.meanfield_q.deploy import deploy, env_arrays, reference_policy, subsample
from marlax.algorithms.meanfield_q.tables import build_reference_tables
from marlax.algorithms.meanfield_q.train import train_reference
from marlax.errors import ConfigError

from .helpers import small_config_dict


@pytest.mark.parametrize("field", sorted(SIMULATION_BOUNDS))
def test_every_integer_field_has_both_bounds(field):
    low, high = SIMULATION_BOUNDS[field]
    for value in (low - 1, high + 1, True, 2.0):
        with pytest.raises(ConfigError) as error:
            parse_config(small_config_dict(**{field: value}))
        assert error.value.field == f"simulation.{field}"
        assert error.value.expected == f"an integer in [{low}, {high}]"
    assert getattr(parse_config(small_config_dict(**{field: high})).simulation, field) == high


def test_discount_factor_lies_in_zero_one():
    for value in (-0.1, 1.0, float("nan"), True):
        with pytest.raises(ConfigError, match=r"simulation.discount_factor.*\[0, 1\)"):
            parse_config(small_config_dict(discount_factor=value))


def test_environment_whose_tables_are_too_large_is_refused():
    raw = small_config_dict()
    raw["environment"]["local_agent"]["state_space"] = list(range(1000))
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert error.value.field == "environment"
    assert "|S_l|=1000" in error.value.value and "10,000,000" in error.value.expected


@pytest.mark.parametrize(
    ("simulation", "k", "semantics", "field", "product"),
    [
        # 900 entries x 10^6 sweeps x 10^5 samples
        (
            {"training_steps": 10**6, "monte_carlo_samples": 10**5},
            2,
            "reference",
            "training_steps",
            "90,000,000,000,000",
        ),
        # 360,000 entries x 10^4 samples held by one reference sweep
        (
            {"num_local_agents": 14, "monte_carlo_samples": 10**4},
            14,
            "reference",
            "monte_carlo_samples",
            "3,600,000,000",
        ),
        # 5 x C(32, 8) x 5 paper entries
        ({"num_local_agents": 30}, 24, "paper", "k", "262,957,500"),
        # 100 runs x 10^4 steps x 10^5 agents x k = 2
        (
            {"num_local_agents": 10**5, "horizon": 10**4, "deployment_runs": 100},
            2,
            None,
            "horizon",
            "200,000,000,000",
        ),
        # 10^4 runs x 10^4 agents x (k + 2) x 3 states in one step's arrays
        (
            {"num_local_agents": 10**4, "horizon": 1, "deployment_runs": 10**4},
            2,
            None,
            "deployment_runs",
            "1,200,000,000",
        ),
    ],
)
def test_total_work_is_bounded_before_anything_runs(simulation, k, semantics, field, product):
    config = parse_config(small_config_dict(**simulation))
    with pytest.raises(ConfigError) as error:
        validate_ks((k,), config, semantics)
    assert error.value.field.endswith(field)
    assert product in error.value.expected


def test_work_checks_pass_for_the_builtin_sizes():
    config = parse_config(small_config_dict(num_local_agents=14, horizon=200, deployment_runs=20))
    for semantics in ("reference", "paper"):
        assert validate_ks(None, config, semantics) == tuple(range(2, 15))


def test_default_ks_for_a_huge_population_stop_at_the_first_k_too_large():
    config = parse_config(small_config_dict(num_local_agents=10**7, horizon=1, deployment_runs=1))
    start = time.perf_counter()
    with pytest.raises(ConfigError) as error:
        validate_ks(None, config)
    assert time.perf_counter() - start < 1.0  # 2..10^7 is never built
    assert error.value.field == "simulation.deployment_runs"
    assert "(k + 2)" in error.value.expected


def test_training_and_deployment_guard_the_python_api_too(key):
    env = tabulate_environment(parse_config(small_config_dict()))
    tables = build_reference_tables(env, 2, 10, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="simulation.training_steps"):
        train_reference(tables, 0.9, 10**10, 10)
    q = train_reference(tables, 0.9, 5, 10)
    arguments = (key, env_arrays(env), reference_policy(q, tables), subsample(2, 3, 2), 0.9)
    with pytest.raises(ConfigError, match="simulation.horizon"):
        deploy(*arguments, num_agents=10**6, horizon=10**5, num_runs=10)
    curves = deploy(*arguments, num_agents=4, horizon=3, num_runs=2)
    assert curves.shape == (2, 3) and bool(jax.numpy.all(curves > 0))
