"""The `es` config section: its checks name `es.*`, and PPO's checks do not block ES."""

from __future__ import annotations

import pytest

from marlax.config import config_to_dict, load_from_dict
from marlax.config.evolution_strategies import MAX_CMA_DIMENSIONS, searched_dimensions
from marlax.errors import ConfigError
from tests.algorithms.es.helpers import tiny_es, tiny_es_raw


@pytest.mark.parametrize(
    ("es", "field"),
    [
        ({"strategy": "cma"}, "es.strategy"),
        ({"population_size": 1}, "es.population_size"),
        ({"population_size": 5}, "es.population_size"),  # odd, antithetic open_es
        ({"sigma_init": 0.0}, "es.sigma_init"),
        ({"sigma_decay": 1.5}, "es.sigma_decay"),
        ({"sigma_min": 0.1, "sigma_init": 0.05}, "es.sigma_min"),
        ({"fitness_shaping": "rank"}, "es.fitness_shaping"),
        ({"deploy": "last"}, "es.deploy"),
        ({"total_env_steps": 49}, "es.total_env_steps"),  # one generation is 5 x 2 x 5 = 50
    ],
)
def test_bad_es_settings_name_their_field(es, field):
    with pytest.raises(ConfigError) as caught:
        load_from_dict(tiny_es_raw(**es))
    assert caught.value.field == field


def test_an_odd_population_is_fine_without_antithetic_sampling_or_for_snes():
    assert tiny_es(population_size=5, antithetic=False).es.population_size == 5
    assert tiny_es(population_size=5, strategy="snes").es.population_size == 5


def test_cma_es_is_refused_on_a_policy_too_large_for_its_matrices():
    raw = tiny_es_raw(strategy="cma_es")
    raw["model"] = {"name": "mlp", "core": {"hidden_sizes": [64, 64]}}
    with pytest.raises(ConfigError) as caught:
        load_from_dict(raw)
    assert caught.value.field == "es.strategy"
    assert "open_es or snes" in caught.value.expected


def test_searched_dimensions_leave_out_the_value_head():
    config = tiny_es(strategy="cma_es")
    # obs 2 agents: 4 + 2 * 2 + 2 * 2 = 12 features; encoder 12->8, core 8->8, policy 8->5
    expected = (12 * 8 + 8) + (8 * 8 + 8) + (8 * 5 + 5)
    assert searched_dimensions(config, config.envs[0].make_env()) == expected
    assert expected <= MAX_CMA_DIMENSIONS


def test_ppo_only_checks_do_not_block_es():
    # 7 minibatches split no PPO batch here (128 x 2 envs x 2 agents), so PPO refuses it
    raw = tiny_es_raw()
    raw["ppo"] = {"num_minibatches": 7}
    with pytest.raises(ConfigError, match="ppo.num_minibatches"):
        load_from_dict({**raw, "algorithm": "ppo"})
    config = load_from_dict(raw)
    assert config.algorithm == "es"
    assert load_from_dict(config_to_dict(config)) == config
