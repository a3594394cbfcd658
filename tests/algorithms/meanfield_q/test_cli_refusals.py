"""`marlax meanfield run` turns every sandbox and budget refusal into one line and exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from marlax.algorithms.meanfield_q import isolation
from marlax.algorithms.meanfield_q.isolation import SandboxLimits
from marlax.cli.app import main
from tests.cli_process import assert_refused

from .helpers import small_config_dict

HEADER = "def global_agent_reward(global_state, global_action):"
MUTABLE_DEFAULT = [
    "def global_agent_reward(global_state, global_action, seen=[]):",
    "    seen.append(1)",
    "    return len(seen)",
]
REFUSED_FUNCTIONS = {
    "power tower": [HEADER, "    return 10 ** 10 ** 10"],
    "factorial": [HEADER, "    import math", "    return math.factorial(10 ** 9)"],
    "format width": [HEADER, "    return f'{global_state!r:>{10**9}}'"],
    "self-recursion": [HEADER, "    return 2 * global_agent_reward(global_state, global_action)"],
    "mutable default": MUTABLE_DEFAULT,
}


def _config_file(tmp_path, raw) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return str(path)


def _run_main(monkeypatch, capsys, tmp_path, raw, *options) -> list[str]:
    """`marlax meanfield run` in-process; returns the stderr lines after asserting exit 2."""
    arguments = ["meanfield", "run", _config_file(tmp_path, raw), "--k", "2", *options]
    monkeypatch.setattr(sys, "argv", ["marlax", *arguments, "--runs-dir", str(tmp_path / "runs")])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("lines", REFUSED_FUNCTIONS.values(), ids=REFUSED_FUNCTIONS.keys())
def test_refused_function_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path, lines):
    limits = SandboxLimits(cpu_seconds=1, memory_bytes=256 << 20, wall_seconds=60.0)
    monkeypatch.setattr(isolation, "DEFAULT_LIMITS", limits)
    raw = small_config_dict()
    raw["environment"]["functions"]["global_agent_reward"] = lines
    stderr = _run_main(monkeypatch, capsys, tmp_path, raw)
    assert len(stderr) == 1
    assert stderr[0].startswith("error: environment.functions.global_agent_reward=")


@pytest.mark.parametrize(
    ("simulation", "field"),
    [
        ({"horizon": 10**7}, "simulation.horizon"),
        ({"training_steps": 10**7}, "simulation.training_steps"),
        ({"monte_carlo_samples": 0}, "simulation.monte_carlo_samples"),
        (
            {"num_local_agents": 10**5, "deployment_runs": 10**4, "horizon": 1},
            "simulation.deployment_runs",
        ),
    ],
)
def test_out_of_bounds_simulation_is_one_line_and_exit_2(
    monkeypatch, capsys, tmp_path, simulation, field
):
    stderr = _run_main(monkeypatch, capsys, tmp_path, small_config_dict(**simulation))
    assert len(stderr) == 1 and stderr[0].startswith(f"error: {field}=")


def test_real_process_exits_2_with_one_line(tmp_path):
    raw = small_config_dict()
    raw["environment"]["functions"]["global_agent_reward"] = MUTABLE_DEFAULT
    command = [sys.executable, "-c", "from marlax.cli.app import main; main()"]
    result = subprocess.run(
        [*command, "meanfield", "run", _config_file(tmp_path, raw), "--k", "2"]
        + ["--runs-dir", str(tmp_path / "runs")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "line 1" in assert_refused(result, "environment.functions.global_agent_reward")
