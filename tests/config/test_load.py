"""Loading configs: the default preset, JSON files, shorthand, --set overrides, error fields."""

from __future__ import annotations

import json

import pytest

from marlax.config import config_to_dict, load_config, load_from_dict
from marlax.config.overrides import parse_value
from marlax.config.schema import ModelConfig, PPOConfig, RunConfig, TaskConfig, TrainConfig
from marlax.errors import ConfigError

TWO_TASKS = {
    "envs": [{"name": "nback", "num_envs": 4}, {"name": "simple_spread", "num_envs": 2}],
    "ppo": {"total_env_steps": 1000, "rollout_length": 5, "num_minibatches": 1},
}


def _error(raw, overrides=()) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_from_dict(raw, overrides)
    return caught.value


def _small(**task) -> dict:
    return {
        "env": {"name": "nback", "num_envs": 4, **task},
        "ppo": {"total_env_steps": 1000, "rollout_length": 5, "num_minibatches": 2},
    }


def test_default_preset_is_simple_spread_mlp():
    config = load_config(None)
    assert config.envs == (TaskConfig(name="simple_spread", num_envs=64),)
    assert config.model == ModelConfig(name="mlp")
    assert config.ppo == PPOConfig(
        total_env_steps=1_000_000, rollout_length=128, learning_rate=0.0025, entropy_coef=0.01
    )
    assert config.run == RunConfig()
    assert config.max_agents == 3 and config.num_updates == 1_000_000 // (128 * 64)


def test_file_loads_and_seeds_override_run_num_seeds(tmp_path):
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(_small()))
    assert load_config(path).run.num_seeds == 1
    config = load_config(str(path), ["run.num_seeds=2"], num_seeds=5)
    assert config.run.num_seeds == 5
    assert config.envs[0] == TaskConfig(name="nback", num_envs=4)


@pytest.mark.parametrize(
    "config",
    [
        load_from_dict(TWO_TASKS),
        load_from_dict(
            _small(params={"max_n": 3}, num_resets=2),
            ["model.name=gru", 'model.core={"hidden_size": 8}', "ppo.value_clip_eps=null"],
        ),
    ],
)
def test_dict_round_trips_through_json(config):
    text = json.dumps(config_to_dict(config))
    assert load_from_dict(json.loads(text)) == config
    assert config_to_dict(load_from_dict(json.loads(text))) == json.loads(text)


def test_round_trip_turns_setting_tuples_into_json_lists():
    config = load_from_dict(_small(), ['model.encoder={"hidden_sizes": [8, 4]}'])
    assert config.model.encoder == {"hidden_sizes": (8, 4)}
    assert config_to_dict(config)["model"]["encoder"] == {"hidden_sizes": [8, 4]}
    assert load_from_dict(config_to_dict(config)) == config


def test_env_shorthand_equals_a_one_element_envs_list():
    shorthand = _small()
    listed = {**shorthand, "envs": [shorthand["env"]]}
    del listed["env"]
    assert load_from_dict(shorthand) == load_from_dict(listed)
    assert "env" in shorthand  # the caller's dict is left as it was


def test_both_env_and_envs_is_an_error():
    error = _error({**_small(), "envs": [{"name": "nback"}]})
    assert error.field == "env" and "not both" in str(error)


def test_every_override_form():
    config = load_from_dict(
        TWO_TASKS,
        [
            "ppo.learning_rate=1e-3",
            "envs.1.num_envs=6",
            "envs.0.params.max_n=3",
            "model.name=gru",
            "model.core.hidden_size=16",
            "run.name=foo",
            "run.devices=2",
            "ppo.anneal_lr=false",
            "ppo.value_clip_eps=null",
        ],
    )
    assert config.ppo.learning_rate == 1e-3 and config.ppo.anneal_lr is False
    assert config.ppo.value_clip_eps is None
    assert [task.num_envs for task in config.envs] == [4, 6]
    assert config.envs[0].params == {"max_n": 3}
    assert config.model == ModelConfig(name="gru", core={"hidden_size": 16})
    assert (config.run.name, config.run.devices) == ("foo", 2)


def test_env_override_on_a_single_task_and_later_overrides_win():
    config = load_from_dict(
        _small(), ["env.num_envs=8", "env.params.max_n=2", "env.num_envs=6", "envs.0.num_resets=3"]
    )
    assert config.envs == (TaskConfig(name="nback", num_envs=6, params={"max_n": 2}, num_resets=3),)
    config = load_from_dict({}, ["env.name=nback", "env.num_envs=2", "ppo.rollout_length=4"])
    assert config.envs == (TaskConfig(name="nback", num_envs=2),)
    config = load_from_dict(_small(), ['envs=[{"name": "nback"}, {"name": "simple_spread"}]'])
    assert [task.name for task in config.envs] == ["nback", "simple_spread"]


def test_override_values_parse_as_json_else_string():
    assert parse_value("1e-3") == 1e-3 and parse_value("128") == 128
    assert parse_value("true") is True and parse_value("null") is None
    assert parse_value("[1, 2]") == [1, 2] and parse_value('{"a": 1}') == {"a": 1}
    assert parse_value("foo") == "foo" and parse_value('"123"') == "123"


@pytest.mark.parametrize(
    ("overrides", "field", "shown"),
    [
        (["envs.2.num_envs=3"], "envs.2", "envs.2.num_envs=3"),
        (["envs.x.num_envs=3"], "envs.x", "envs.x.num_envs=3"),
        (["ppo.rollout_length.x=3"], "ppo.rollout_length.x", "rollout_length is 5"),
        (["env.num_envs=3"], "env.num_envs", "2 tasks"),
        (["ppo.learning_rate"], "--set", "ppo.learning_rate"),
        (["ppo..gamma=1"], "--set", "ppo..gamma=1"),
    ],
)
def test_bad_override_paths_name_the_override(overrides, field, shown):
    error = _error(TWO_TASKS, overrides)
    assert error.field == field and shown in str(error)


@pytest.mark.parametrize(
    ("overrides", "field", "value", "shown"),
    [
        (["ppo.learning_rate=-1"], "ppo.learning_rate", -1, "> 0"),
        (["ppo.lr=1"], "ppo.lr", 1, "did you mean 'learning_rate'"),
        (["env.name=gridreturn"], "envs.0.name", "gridreturn", "did you mean 'grid_return'"),
        (["model.name=lstm"], "model.name", "lstm", "gru, mlp, s5, ssm, transformer"),
        (["env.name=grid_return", "env.params.view_size=4"], "envs.0.params.view_size", 4, "odd"),
        (["env.num_envs=true"], "envs.0.num_envs", True, "an integer >= 1"),
        (["run.checkpoint_every=3", "run.log_every=2"], "run.checkpoint_every", 3, "multiple"),
        (["env.params.max_m=3"], "envs.0.params.max_m", 3, "did you mean 'max_n'"),
        (["model.core.hidden_size=8"], "model.core.hidden_size", 8, "hidden_sizes"),
        (["ppo.num_minibatches=3"], "ppo.num_minibatches", 3, "20 samples"),
        (["ppo.total_env_steps=19"], "ppo.total_env_steps", 19, "at least 20"),
        (["env.num_resets=5"], "envs.0.num_resets", 5, "at most num_envs = 4"),
        (["run.devices=3"], "run.devices", 3, "envs.0.num_envs = 4"),
        (["ppo.gamma=NaN"], "ppo.gamma", None, "[0, 1]"),
        (["env.params=[1]"], "envs.0.params", [1], "JSON object"),
        (["model=3"], "model", 3, "JSON object"),
        (
            ["bogus=1"],
            "bogus",
            1,
            "env, envs, algorithm, model, ppo, q_learning, off_policy, es, pbt, maml, varibad, "
            "sebulba, optimizer, run",
        ),
        (["env.nmae=nback"], "envs.0.nmae", "nback", "did you mean 'name'"),
    ],
)
def test_errors_name_the_full_field_and_the_value(overrides, field, value, shown):
    error = _error(_small(), overrides)
    assert error.field == field, str(error)
    if value is not None:
        assert error.value == value and repr(value) in str(error)
    assert shown in str(error)


def test_second_task_errors_are_prefixed_with_its_index():
    error = _error(TWO_TASKS, ["envs.1.params.num_agents=0"])
    assert (error.field, error.value) == ("envs.1.params.num_agents", 0)
    error = _error(TWO_TASKS, ['envs.1={"num_envs": 2}'])
    assert error.field == "envs.1.name" and "missing" in str(error)


def test_file_errors_name_config(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert caught.value.field == "config" and "nope.json" in str(caught.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "env": {"name": "nback",}\n}')
    with pytest.raises(ConfigError) as caught:
        load_config(broken)
    assert caught.value.field == "config" and "line 2 column 27" in str(caught.value)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(ConfigError) as caught:
        load_config(listed)
    assert caught.value.field == "config" and "JSON object" in str(caught.value)


def test_structural_errors():
    assert _error({"env": [{"name": "nback"}]}).field == "env"
    assert _error({"envs": []}).field == "envs"
    assert _error({"envs": {"name": "nback"}}).field == "envs"
    assert _error({"ppo": {}}).field == "envs"


def test_load_from_dict_equals_direct_construction():
    direct = TrainConfig(
        envs=(TaskConfig(name="nback", num_envs=4),),
        ppo=PPOConfig(total_env_steps=1000, rollout_length=5, num_minibatches=2),
    )
    assert load_from_dict(_small()) == direct


def test_energy_flow_float_images_load_with_the_image_encoder():
    image_settings = ['model.encoder={"conv_channels": [4], "channel_affine": true}']
    config = load_from_dict(_small(name="energy_flow"), image_settings)
    assert config.envs[0].name == "energy_flow"
    assert config.model.encoder == {"conv_channels": (4,), "channel_affine": True}
    # settings are checked against the image encoder: an id-grid setting names its field
    error = _error(_small(name="energy_flow"), ['model.encoder={"vocab_sizes": [4]}'])
    assert error.field == "model.encoder.vocab_sizes" and "channel_affine" in str(error)
    error = _error(_small(name="energy_flow"), ['model.encoder={"kernel_size": 0}'])
    assert (error.field, error.value) == ("model.encoder.kernel_size", 0)
