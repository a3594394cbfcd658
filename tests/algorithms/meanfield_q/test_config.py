"""Bad configs: one ConfigError naming the field; bad functions reported with their inputs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from marlax.algorithms.meanfield_q import load_config, parse_config, tabulate_environment
from marlax.algorithms.meanfield_q.config import validate_ks
from marlax.errors import ConfigError
from tests.cli_process import assert_refused

from .helpers import small_config_dict


def _without(path):
    raw = small_config_dict()
    section = raw
    for key in path[:-1]:
        section = section[key]
    del section[path[-1]]
    return raw


def _with(path, value):
    raw = small_config_dict()
    section = raw
    for key in path[:-1]:
        section = section[key]
    section[path[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_without(["simulation"]), "simulation"),
        (_without(["environment", "functions", "local_agent_reward"]), "local_agent_reward"),
        (_without(["simulation", "horizon"]), "simulation.horizon"),
        (_with(["environment", "local_agent", "state_space"], []), "local_agent.state_space"),
        (
            _with(["environment", "global_agent", "action_space"], ["a"]),
            "global_agent.action_space",
        ),
        (_with(["simulation", "num_local_agents"], 1), "simulation.num_local_agents"),
        (_with(["simulation", "horizon"], "200"), "simulation.horizon"),
        (_with(["simulation", "discount_factor"], 1.5), "simulation.discount_factor"),
        (_with(["simulation", "deployment_runs"], 0), "simulation.deployment_runs"),
        (_with(["simulation", "extra"], 1), "simulation.extra"),
        (_with(["visualization", "plot_filename"], "../x.png"), "visualization.plot_filename"),
        (_with(["environment", "functions", "global_agent_reward"], 3), "global_agent_reward"),
        ([], "config"),
    ],
)
def test_malformed_config_names_the_field(raw, field):
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert field in error.value.field


def test_k_must_lie_in_two_to_n():
    config = parse_config(small_config_dict())
    assert validate_ks(None, config) == (2, 3, 4)
    for k in (1, 5):
        with pytest.raises(ConfigError, match="num_local_agents=4"):
            validate_ks((2, k), config)


def test_transition_leaving_its_space_is_reported_with_inputs():
    raw = small_config_dict()
    raw["environment"]["functions"]["global_agent_transition"] = [
        "def global_agent_transition(global_state, global_action):",
        "    return global_state + global_action",
    ]
    with pytest.raises(ConfigError) as error:
        tabulate_environment(parse_config(raw))
    assert error.value.field == "environment.functions.global_agent_transition"
    assert "global_state=-2, global_action=-2) -> -4" in str(error.value.value)


def test_function_that_raises_is_reported_with_inputs():
    raw = small_config_dict()
    raw["environment"]["functions"]["local_agent_reward"] = [
        "def local_agent_reward(local_state, global_state, local_action):",
        "    return 1.0 / local_state",
    ]
    with pytest.raises(ConfigError, match="ZeroDivisionError") as error:
        tabulate_environment(parse_config(raw))
    assert "local_state=0" in str(error.value.value)


def test_config_importing_os_is_refused_at_load():
    raw = small_config_dict()
    raw["environment"]["functions"]["local_agent_transition"] = [
        "def local_agent_transition(local_state, global_state, local_action):",
        "    __import__('os').system('echo pwned')",
        "    return 0",
    ]
    with pytest.raises(ConfigError, match="line 2"):
        tabulate_environment(parse_config(raw))


def test_cli_bad_config_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_with(["simulation", "num_local_agents"], 1)))
    with pytest.raises(ConfigError):
        load_config(path)
    command = [sys.executable, "-c", "from marlax.cli.app import main; main()"]
    result = subprocess.run(
        [*command, "meanfield", "run", str(path), "--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_refused(result, "simulation.num_local_agents")
