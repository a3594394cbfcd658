"""The `off_policy` section's field checks and what MADDPG / SAC require of the task."""

from __future__ import annotations

import pytest

from marlax.config.actor_critic import OffPolicyConfig, check_off_policy
from marlax.config.schema import RunConfig, TaskConfig
from marlax.errors import ConfigError
from tests.algorithms.off_policy.helpers import RunSettings, tiny_off_policy

CONTINUOUS = {"continuous_actions": True}


def _check(envs: tuple[TaskConfig, ...], algorithm: str = "sac", **off_policy) -> None:
    config = RunSettings(algorithm, tiny_off_policy(**off_policy), RunConfig(), envs=envs)
    check_off_policy(config, [task.make_env() for task in envs])


DISCRETE = (TaskConfig(name="simple_spread", num_envs=4),)
BOX = (TaskConfig(name="simple_spread", num_envs=4, params=CONTINUOUS),)


def test_defaults_and_lists_of_sizes_are_accepted():
    config = OffPolicyConfig(actor_hidden_sizes=[32, 16])
    assert config.actor_hidden_sizes == (32, 16)
    assert config.target_entropy is None and config.batch_size <= config.buffer_size
    _check((TaskConfig(name="simple_spread", num_envs=4, params=CONTINUOUS),))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"batch_size": 512, "buffer_size": 256}, "batch_size"),
        ({"actor_hidden_sizes": []}, "actor_hidden_sizes"),
        ({"critic_hidden_sizes": [64, 0]}, "critic_hidden_sizes"),
        ({"tau": 0.0}, "tau"),
        ({"init_alpha": 0.0}, "init_alpha"),
        ({"noise_decay": 1.5}, "noise_decay"),
        ({"gamma": True}, "gamma"),
        ({"gumbel_temperature": 0.0}, "gumbel_temperature"),
        ({"gumbel_temperature": -1.0}, "gumbel_temperature"),
        ({"gumbel_estimator": "hard"}, "gumbel_estimator"),
        ({"logit_penalty": -1e-3}, "logit_penalty"),
    ],
)
def test_bad_fields_name_themselves(changes, field):
    with pytest.raises(ConfigError) as error:
        OffPolicyConfig(**changes)
    assert error.value.field == field


@pytest.mark.parametrize(
    ("envs", "changes", "field"),
    [
        ((TaskConfig(name="simple_spread"),), {}, "envs.0.name"),  # discrete actions
        (
            (
                TaskConfig(name="simple_spread", params=CONTINUOUS),
                TaskConfig(name="simple_spread", params=CONTINUOUS),
            ),
            {},
            "envs",
        ),
        (
            (TaskConfig(name="simple_spread", num_envs=4, params=CONTINUOUS),),
            {"total_env_steps": 15},
            "off_policy.total_env_steps",
        ),
        (
            (TaskConfig(name="simple_spread", num_envs=4, params=CONTINUOUS),),
            {"learning_starts": 128},
            "off_policy.learning_starts",
        ),
    ],
)
def test_tasks_a_learner_cannot_train_on_are_refused(envs, changes, field):
    with pytest.raises(ConfigError) as error:
        _check(envs, **changes)
    assert error.value.field == field


def test_maddpg_takes_discrete_actions_with_its_gumbel_settings():
    _check(DISCRETE, "maddpg", gumbel_temperature=0.5, gumbel_estimator="straight_through")
    _check(BOX, "maddpg", noise_std_start=0.2)


@pytest.mark.parametrize(
    ("envs", "algorithm", "changes", "field", "names"),
    [
        (BOX, "maddpg", {"gumbel_temperature": 0.5}, "off_policy.gumbel_temperature", "Discrete"),
        (BOX, "sac", {"gumbel_estimator": "straight_through"}, "off_policy.gumbel_estimator", ""),
        (BOX, "maddpg", {"logit_penalty": 0.0}, "off_policy.logit_penalty", "Discrete"),
        (DISCRETE, "maddpg", {"noise_std_start": 0.2}, "off_policy.noise_std_start", "Box"),
        (DISCRETE, "sac", {}, "envs.0.name", "maddpg"),
    ],
)
def test_settings_the_task_would_ignore_are_refused(envs, algorithm, changes, field, names):
    """A Gumbel setting on Box actions, a noise setting on discrete ones, SAC on discrete
    actions: each names the field, its value and what to do instead."""
    with pytest.raises(ConfigError) as error:
        _check(envs, algorithm, **changes)
    assert error.value.field == field
    assert names in error.value.expected
    if changes:
        assert error.value.value == next(iter(changes.values()))
