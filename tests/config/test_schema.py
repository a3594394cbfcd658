"""The config dataclasses: defaults, field checks, derived properties, cross-field checks."""

from __future__ import annotations

import ast
import dataclasses
import inspect

import pytest

from marlax.config import schema
from marlax.config.schema import ModelConfig, PPOConfig, RunConfig, TaskConfig, TrainConfig
from marlax.errors import ConfigError


def _train(*tasks: TaskConfig, model: str = "mlp", **ppo: object) -> TrainConfig:
    settings = {"total_env_steps": 10_000, "rollout_length": 4, "num_minibatches": 1, **ppo}
    return TrainConfig(envs=tasks, model=ModelConfig(name=model), ppo=PPOConfig(**settings))


def _error(build) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        build()
    return caught.value


def test_ppo_defaults_are_the_documented_ones():
    ppo = PPOConfig()
    assert (ppo.total_env_steps, ppo.rollout_length, ppo.num_epochs, ppo.num_minibatches) == (
        1_000_000,
        128,
        4,
        4,
    )
    assert (ppo.gamma, ppo.gae_lambda, ppo.clip_eps, ppo.value_clip_eps) == (0.99, 0.95, 0.2, 0.2)
    assert (ppo.entropy_coef, ppo.value_coef, ppo.max_grad_norm) == (0.01, 0.5, 0.5)
    assert (ppo.learning_rate, ppo.anneal_lr, ppo.normalize_advantages) == (2.5e-4, True, True)
    assert ppo.critic == "independent"
    run = RunConfig()
    assert (run.seed, run.num_seeds, run.log_every, run.checkpoint_every) == (0, 1, 1, 10)
    assert (run.runs_dir, run.name, run.devices) == ("runs", None, None)
    task = TaskConfig(name="nback")
    assert (task.num_envs, task.params, task.num_resets) == (64, {}, None)
    assert ModelConfig() == ModelConfig(name="mlp", encoder={}, core={}, log_std_init=0.0)


def test_every_field_has_a_docstring_line_under_it():
    tree = ast.parse(inspect.getsource(schema))
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert {node.name for node in classes} >= {"TaskConfig", "PPOConfig", "TrainConfig"}
    for node in classes:
        for field, after in zip(node.body, [*node.body[1:], None], strict=True):
            if isinstance(field, ast.AnnAssign):
                documented = isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                assert documented, f"{node.name}.{field.target.id} has no docstring"


def test_configs_are_frozen():
    config = _train(TaskConfig(name="nback", num_envs=2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.ppo.learning_rate = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.envs = ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.envs[0].num_envs = 3


def test_derived_properties_by_hand():
    # nback: 1 agent, vector D=5; simple_spread: 3 agents, vector D=18 -> one policy is fine
    config = _train(
        TaskConfig(name="nback", num_envs=3),
        TaskConfig(name="simple_spread", num_envs=5),
        total_env_steps=100,
    )
    assert config.total_num_envs == 8
    assert config.steps_per_update == 4 * 8
    assert config.num_updates == 100 // 32 == 3
    assert config.multi_task
    assert config.max_agents == 3
    single = _train(TaskConfig(name="nback", num_envs=3))
    assert not single.multi_task and single.max_agents == 1


def test_too_few_env_steps_for_one_update_names_the_minimum():
    error = _error(lambda: _train(TaskConfig(name="nback", num_envs=3), total_env_steps=11))
    assert error.field == "ppo.total_env_steps" and error.value == 11
    assert "at least 12" in str(error)  # rollout_length 4 x 3 envs
    assert _train(TaskConfig(name="nback", num_envs=3), total_env_steps=12).num_updates == 1


def test_int_for_float_is_stored_as_float_and_bool_is_not_an_int():
    ppo = PPOConfig(learning_rate=1, gamma=1)
    assert ppo.learning_rate == 1.0 and isinstance(ppo.learning_rate, float)
    assert _error(lambda: TaskConfig(name="nback", num_envs=True)).field == "num_envs"
    assert _error(lambda: PPOConfig(num_epochs=2.0)).field == "num_epochs"
    assert _error(lambda: PPOConfig(anneal_lr=1)).field == "anneal_lr"


def test_none_only_for_optional_fields():
    assert PPOConfig(value_clip_eps=None).value_clip_eps is None
    assert RunConfig(devices=None, name=None).devices is None
    error = _error(lambda: PPOConfig(gamma=None))
    assert (error.field, error.value) == ("gamma", None)
    assert _error(lambda: TaskConfig(name="nback", num_envs=None)).field == "num_envs"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"gamma": 1.5}, "gamma"),
        ({"gae_lambda": -0.1}, "gae_lambda"),
        ({"clip_eps": 0.0}, "clip_eps"),
        ({"clip_eps": 1.0}, "clip_eps"),
        ({"value_clip_eps": 0.0}, "value_clip_eps"),
        ({"entropy_coef": -1e-3}, "entropy_coef"),
        ({"max_grad_norm": 0}, "max_grad_norm"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"rollout_length": 0}, "rollout_length"),
        ({"critic": "centralized"}, "critic"),
    ],
)
def test_ppo_ranges(settings, field):
    error = _error(lambda: PPOConfig(**settings))
    assert error.field == field
    assert error.value is settings[field] or error.value == settings[field]


def test_range_edges_that_are_allowed():
    ppo = PPOConfig(gamma=0, gae_lambda=1, entropy_coef=0, value_coef=0, critic="centralised")
    assert (ppo.gamma, ppo.gae_lambda, ppo.critic) == (0.0, 1.0, "centralised")


def test_critic_typo_suggests_the_spelling():
    assert "did you mean 'centralised'" in str(_error(lambda: PPOConfig(critic="centralized")))


def test_run_checks():
    error = _error(lambda: RunConfig(checkpoint_every=3, log_every=2))
    assert (error.field, error.value) == ("checkpoint_every", 3)
    assert "multiple of run.log_every = 2" in str(error)
    assert RunConfig(checkpoint_every=4, log_every=2).checkpoint_every == 4
    assert _error(lambda: RunConfig(seed=-1)).field == "seed"
    assert _error(lambda: RunConfig(name="a/b")).field == "name"
    assert _error(lambda: RunConfig(name="..")).field == "name"
    assert _error(lambda: RunConfig(runs_dir="")).field == "runs_dir"


def test_task_checks_num_resets_and_env_settings():
    assert TaskConfig(name="nback", num_envs=4, num_resets=4).num_resets == 4
    error = _error(lambda: TaskConfig(name="nback", num_envs=4, num_resets=5))
    assert (error.field, error.value) == ("num_resets", 5)
    error = _error(lambda: TaskConfig(name="grid_return", params={"view_size": 4}))
    assert (error.field, error.value) == ("params.view_size", 4)
    error = _error(lambda: TaskConfig(name="nback", params={"max_m": 3}))
    assert error.field == "params.max_m" and "did you mean 'max_n'" in str(error)


def test_json_lists_in_settings_become_tuples_so_the_env_is_hashable():
    task = TaskConfig(name="nback", params={"max_n": 3})
    model = ModelConfig(encoder={"hidden_sizes": [8, 8]})
    assert model.encoder == {"hidden_sizes": (8, 8)}
    assert hash(task.make_env()) == hash(task.make_env())


def test_model_core_settings_are_checked_against_the_core():
    assert ModelConfig(name="gru", core={"hidden_size": 8}).core == {"hidden_size": 8}
    error = _error(lambda: ModelConfig(name="mlp", core={"hidden_size": 8}))
    assert error.field == "core.hidden_size" and "did you mean 'hidden_sizes'" in str(error)
    assert _error(lambda: ModelConfig(name="lstm")).field == "name"


def test_replace_revalidates():
    config = _train(TaskConfig(name="nback", num_envs=2))
    with pytest.raises(ConfigError):
        dataclasses.replace(config.ppo, learning_rate=0.0)
    error = _error(lambda: dataclasses.replace(config, envs=()))
    assert error.field == "envs"


# ---- cross-field checks (TrainConfig.__post_init__) -----------------------------------------


def test_minibatches_split_sequences_for_recurrent_models_and_samples_for_mlp():
    nback = TaskConfig(name="nback", num_envs=6)  # 1 agent; rollout_length 5
    # gru: 6 sequences -> 3 divides, 4 and 5 do not
    assert _train(nback, model="gru", rollout_length=5, num_minibatches=3).ppo.num_minibatches == 3
    error = _error(lambda: _train(nback, model="gru", rollout_length=5, num_minibatches=5))
    assert (error.field, error.value) == ("ppo.num_minibatches", 5)
    assert "6 sequences" in str(error) and "one of 1, 2, 3, 6" in str(error)
    # mlp: 5 x 6 = 30 samples -> 5 divides, 4 does not
    assert _train(nback, rollout_length=5, num_minibatches=5).ppo.num_minibatches == 5
    error = _error(lambda: _train(nback, rollout_length=5, num_minibatches=4))
    assert "30 samples" in str(error) and "one of 1, 2, 3, 5, 6, 10, 15, 30" in str(error)


def test_minibatches_count_the_largest_team_and_list_divisors_up_to_64():
    spread = TaskConfig(name="simple_spread", num_envs=64)  # 3 agents -> 192 sequences
    assert _train(spread, model="gru", num_minibatches=3).ppo.num_minibatches == 3
    error = _error(lambda: _train(spread, model="gru", num_minibatches=5))
    assert "192 sequences" in str(error)
    assert str(error).endswith("one of 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64")
    mixed = (TaskConfig(name="nback", num_envs=2), TaskConfig(name="simple_spread", num_envs=3))
    error = _error(lambda: _train(*mixed, model="gru", num_minibatches=4))
    assert "15 sequences (total_num_envs 5 x max_agents 3" in str(error)


def test_multi_task_needs_one_observation_kind_and_discrete_actions():
    grid = TaskConfig(name="grid_return", num_envs=1)  # i32 (11, 11, 2)
    hill = TaskConfig(name="king_of_the_hill", num_envs=1)  # i32 (11, 11, 3): same V
    assert _train(grid, hill).multi_task
    narrow = TaskConfig(name="grid_return", num_envs=1, params={"view_size": 9})
    nback = TaskConfig(name="nback", num_envs=1)
    continuous = TaskConfig(name="simple_spread", num_envs=1, params={"continuous_actions": True})
    for tasks in [(grid, narrow), (grid, nback), (nback, continuous)]:
        error = _error(lambda tasks=tasks: _train(*tasks))
        assert error.field == "envs"
        assert all(task.name in str(error) for task in tasks)
    assert _train(continuous).ppo.num_minibatches == 1  # a single continuous task is fine


def test_model_settings_are_checked_against_the_task_spaces():
    grid = TaskConfig(name="grid_return", num_envs=1)
    config = TrainConfig(envs=(grid,), model=ModelConfig(encoder={"embed_dim": 4}))
    assert config.model.encoder == {"embed_dim": 4}
    error = _error(lambda: TrainConfig(envs=(grid,), model=ModelConfig(encoder={"bogus": 1})))
    assert error.field == "model.encoder.bogus"
    vector = ModelConfig(encoder={"hidden_sizes": [0]})
    error = _error(lambda: TrainConfig(envs=(TaskConfig(name="nback"),), model=vector))
    assert (error.field, error.value) == ("model.encoder.hidden_sizes", (0,))
    image = ModelConfig(encoder={"embed_dim": 4})  # energy_flow takes the image encoder
    error = _error(lambda: TrainConfig(envs=(TaskConfig(name="energy_flow"),), model=image))
    assert error.field == "model.encoder.embed_dim"


def test_devices_must_divide_every_task():
    tasks = (TaskConfig(name="nback", num_envs=4), TaskConfig(name="nback", num_envs=6))
    assert TrainConfig(envs=tasks, run=RunConfig(devices=2)).run.devices == 2
    error = _error(lambda: TrainConfig(envs=tasks, run=RunConfig(devices=4)))
    assert (error.field, error.value) == ("run.devices", 4)
    assert "envs.1.num_envs = 6" in str(error)
