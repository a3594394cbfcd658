"""The `off_policy` section's field checks and what MADDPG / SAC require of the task."""

from __future__ import annotations

import pytest

from marlax.config.actor_critic import OffPolicyConfig, check_off_policy
from marlax.config.schema import RunConfig, TaskConfig
from marlax.errors import ConfigError
from tests.algorithms.off_policy.helpers import RunSettings, tiny_off_policy

CONTINUOUS = {"continuous_actions": True}


def _check(envs: tuple[TaskConfig, ...], **off_policy) -> None:
    config = RunSettings("sac", tiny_off_policy(**off_policy), RunConfig(), envs=envs)
    check_off_policy(config, [task.make_env() for task in envs])


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
