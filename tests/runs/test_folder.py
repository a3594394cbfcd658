"""Run folders: create/open, name errors with suggestions, atomic config and status."""

from __future__ import annotations

import datetime
import json
import os

import numpy as np
import pytest

from marlax.errors import ConfigError
from marlax.runs import atomic
from marlax.runs.folder import RunFolder, run_names

CONFIG = {"env": {"name": "nback", "max_steps": 8}, "ppo": {"lr": 3e-4}, "seed": 1}


def test_create_writes_config_and_running_status(tmp_path):
    run = RunFolder.create(tmp_path / "runs", "bold-otter-07", CONFIG)
    assert run.path == tmp_path / "runs" / "bold-otter-07" and run.name == "bold-otter-07"
    assert run.path.is_dir()
    assert run.read_config() == CONFIG
    assert json.loads(run.config_path.read_text()) == CONFIG
    status = run.read_status()
    assert status["state"] == "running" and status["pid"] == os.getpid()
    updated = datetime.datetime.fromisoformat(status["updated"])
    assert abs((datetime.datetime.now(datetime.UTC) - updated).total_seconds()) < 60
    assert sorted(entry.name for entry in run.path.iterdir()) == ["config.json", "status.json"]


def test_paths_inside_the_folder(tmp_path):
    run = RunFolder(tmp_path / "r")
    assert run.config_path == tmp_path / "r" / "config.json"
    assert run.checkpoint_dir == tmp_path / "r" / "checkpoints"
    assert run.metrics_path == tmp_path / "r" / "metrics.jsonl"
    assert run.tensorboard_dir == tmp_path / "r" / "tb"
    assert run.curves_path == tmp_path / "r" / "curves.png"
    assert run.status_path == tmp_path / "r" / "status.json"
    assert run.videos_dir == tmp_path / "r" / "videos"


def test_create_refuses_a_used_name_and_keeps_the_old_config(tmp_path):
    RunFolder.create(tmp_path, "taken", CONFIG)
    with pytest.raises(ConfigError) as error:
        RunFolder.create(tmp_path, "taken", {"other": 1})
    assert error.value.field == "run.name" and error.value.value == "taken"
    assert str(tmp_path) in error.value.expected
    assert RunFolder.open(tmp_path, "taken").read_config() == CONFIG


@pytest.mark.parametrize("name", ["../escape", "a/b", "..", "Upper"])
def test_create_refuses_bad_names_and_writes_nothing(tmp_path, name):
    runs_dir = tmp_path / "runs"
    with pytest.raises(ConfigError) as error:
        RunFolder.create(runs_dir, name, CONFIG)
    assert error.value.field == "run.name"
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_create_refuses_a_config_that_is_not_json_before_making_the_folder(tmp_path):
    with pytest.raises(TypeError):
        RunFolder.create(tmp_path, "r", {"bad": object()})
    assert not (tmp_path / "r").exists()


def test_open_finds_an_existing_run(tmp_path):
    created = RunFolder.create(tmp_path, "quiet-heron-42", CONFIG)
    assert RunFolder.open(tmp_path, "quiet-heron-42") == created


def test_open_missing_names_the_runs_and_suggests_the_closest(tmp_path):
    for name in ("bold-otter-07", "quiet-heron-42"):
        RunFolder.create(tmp_path, name, CONFIG)
    (tmp_path / "not-a-run").mkdir()  # no config.json: never listed
    with pytest.raises(ConfigError) as error:
        RunFolder.open(tmp_path, "bold-otter-08")
    assert error.value.field == "run" and error.value.value == "bold-otter-08"
    message = str(error.value)
    assert "bold-otter-07" in message and "quiet-heron-42" in message
    assert "did you mean bold-otter-07?" in message and "not-a-run" not in message


def test_open_lists_at_most_ten_runs(tmp_path):
    for index in range(12):
        RunFolder.create(tmp_path, f"run-{index:02d}", CONFIG)
    with pytest.raises(ConfigError) as error:
        RunFolder.open(tmp_path, "zzz")
    listed = [name for name in run_names(tmp_path) if name in error.value.expected]
    assert len(listed) == 10 and error.value.expected.endswith(", ...")
    assert "did you mean" not in error.value.expected


@pytest.mark.parametrize("name", ["..", "../x", "not-a-run"])
def test_open_refuses_paths_and_folders_without_config(tmp_path, name):
    (tmp_path / "runs" / "not-a-run").mkdir(parents=True)
    with pytest.raises(ConfigError, match="it has none"):
        RunFolder.open(tmp_path / "runs", name)


def test_write_status_keeps_fields_and_checks_the_state(tmp_path):
    run = RunFolder.create(tmp_path, "r", CONFIG)
    run.write_status("finished", env_steps=4096, update=3, message="done")
    status = run.read_status()
    assert status["state"] == "finished" and status["pid"] == os.getpid()
    assert (status["env_steps"], status["update"], status["message"]) == (4096, 3, "done")
    with pytest.raises(ValueError, match="paused"):
        run.write_status("paused")
    assert run.read_status() == status
    assert RunFolder(tmp_path / "nothing").read_status() == {}


def test_write_status_turns_a_missing_number_into_null_and_stays_strict_json(tmp_path):
    # a run in which no episode ended has no best return: null, not the invalid token NaN
    run = RunFolder.create(tmp_path, "r", CONFIG)
    run.write_status("finished", best_return=float("nan"), final_return=np.float32(1.5))
    text = run.status_path.read_text()
    assert "NaN" not in text
    status = json.loads(text, parse_constant=lambda token: pytest.fail(f"invalid {token}"))
    assert status["best_return"] is None and status["final_return"] == 1.5


def test_stopped_is_a_state_a_learner_writes(tmp_path):
    run = RunFolder.create(tmp_path, "r", CONFIG)
    run.write_status("stopped", message="stopped by SIGINT at update 4")
    assert run.read_status()["state"] == "stopped"


def test_a_failed_replace_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    run = RunFolder.create(tmp_path, "r", CONFIG)
    before = run.status_path.read_bytes()

    def _crash(source, destination):
        raise OSError("disk gone")

    monkeypatch.setattr(atomic.os, "replace", _crash)
    with pytest.raises(OSError, match="disk gone"):
        run.write_status("failed", message="x")
    assert run.status_path.read_bytes() == before
    assert sorted(entry.name for entry in run.path.iterdir()) == ["config.json", "status.json"]
