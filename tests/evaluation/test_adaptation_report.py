"""adapt.json / adapt.png: per-step means with intervals, the change from step 0, atomic files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from marlax.evaluation.adaptation import (
    AdaptationCurve,
    adaptation_json,
    adaptation_lines,
    write_adaptation,
)


def _curve() -> AdaptationCurve:
    returns = np.array([[-30.0, -20.0, -10.0], [-12.0, -10.0, -8.0]])  # 2 steps x 3 tasks
    return AdaptationCurve(
        run="bold-otter-07",
        method="maml: inner policy-gradient steps",
        step_label="inner step",
        returns=returns,
        task_seed=5,
        env_overrides={"goal_range": 1.0},
    )


def test_json_has_each_step_mean_and_every_task_return():
    content = adaptation_json(_curve())
    assert [step["step"] for step in content["steps"]] == [0, 1]
    assert content["steps"][0]["mean"] == pytest.approx(-20.0)
    assert content["steps"][1]["mean"] == pytest.approx(-10.0)
    low, high = content["steps"][0]["ci95"]
    assert -30.0 <= low <= -20.0 <= high <= -10.0
    assert content["returns"] == [[-30.0, -20.0, -10.0], [-12.0, -10.0, -8.0]]
    assert content["tasks"] == 3 and content["env_overrides"] == {"goal_range": 1.0}


def test_lines_show_the_change_from_step_zero():
    lines = adaptation_lines(_curve())
    assert "3 task(s) from task seed 5" in lines[0] and "goal_range" in lines[0]
    assert lines[-1].split()[0] == "1" and lines[-1].split()[-1] == "+10.000"


def test_files_are_written_and_readable(tmp_path):
    json_path, plot_path = write_adaptation(tmp_path, _curve())
    assert json.loads(json_path.read_text())["run"] == "bold-otter-07"
    assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adapt.json", "adapt.png"]
