"""The `algorithm` field, the `q_learning` section and `jaxmarl:<Env>` task names."""

from __future__ import annotations

import pytest

from marlax.config import config_to_dict, load_from_dict
from marlax.config.q_learning import QLearningConfig, chunk_length
from marlax.envs.registry import is_env_name, make
from marlax.errors import ConfigError

Q_RAW = {
    "algorithm": "vdn",
    "env": {"name": "simple_spread", "num_envs": 4},
    "q_learning": {"total_env_steps": 1000, "rollout_length": 10, "team_reward": "sum"},
}


def test_a_q_config_round_trips_and_old_configs_are_ppo():
    config = load_from_dict(Q_RAW)
    assert config.algorithm == "vdn" and config.q_learning.team_reward == "sum"
    assert load_from_dict(config_to_dict(config)) == config
    old = load_from_dict({"env": {"name": "simple_spread"}})  # a run folder from before
    assert old.algorithm == "ppo" and old.q_learning == QLearningConfig()


def test_chunk_length_defaults_to_the_time_limit():
    env = make("simple_spread")
    assert chunk_length(QLearningConfig(), env) == env.max_steps == 25
    assert chunk_length(QLearningConfig(rollout_length=7), env) == 7


def test_a_q_config_skips_ppos_checks():
    """PPO's minibatch split and budget do not apply to a Q-learner."""
    raw = {**Q_RAW, "ppo": {"num_minibatches": 7, "total_env_steps": 1}}
    assert load_from_dict(raw).algorithm == "vdn"


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"gamma": 1.5}, "q_learning.gamma"),
        ({"batch_size": 0}, "q_learning.batch_size"),
        ({"tau": 0.0}, "q_learning.tau"),
        ({"team_reward": "max"}, "q_learning.team_reward"),
        ({"unknown": 1}, "q_learning.unknown"),
    ],
)
def test_bad_q_learning_fields_name_the_field(section, field):
    raw = {**Q_RAW, "q_learning": {**Q_RAW["q_learning"], **section}}
    with pytest.raises(ConfigError) as error:
        load_from_dict(raw)
    assert error.value.field == field


def test_jaxmarl_names_are_env_names():
    assert is_env_name("simple_spread") and is_env_name("jaxmarl:HeuristicEnemySMAX")
    assert not is_env_name("jaxmarl:") and not is_env_name("simple_sprad") and not is_env_name(3)
    with pytest.raises(ConfigError, match="jaxmarl:<JaxMARL env>"):
        load_from_dict({"env": {"name": "simple_sprad"}})
