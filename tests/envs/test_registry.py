"""The registry: names, typos, unknown settings."""

from __future__ import annotations

import pytest

import marlax
from marlax.envs import list_envs, make
from marlax.errors import ConfigError

EXPECTED = {
    "nback",
    "grid_return",
    "scouts",
    "traveling_salesman",
    "king_of_the_hill",
    "simple_spread",
    "energy_flow",
    "navigation_2d",
    "velocity_point",
    "bandit_k",
    "spread_family",
}


def test_the_worlds_and_the_task_families_are_registered():
    assert set(list_envs()) >= EXPECTED


def test_typo_lists_valid_names_and_suggests_the_closest():
    with pytest.raises(ConfigError) as error:
        make("grid_retrun")
    message = str(error.value)
    assert "grid_retrun" in message and "did you mean 'grid_return'" in message
    assert all(name in message for name in EXPECTED)


def test_top_level_make_is_the_registry_make():
    assert marlax.make is make
