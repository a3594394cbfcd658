"""`marlax train`: run folders, bad configs, every configured update, a run in which no episode
ends, divergence, and exact resume after SIGKILL."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from marlax.algorithms.ppo.loop import TrainingDivergedError, create_run, open_run, train_run
from marlax.algorithms.ppo.restore import load_trained
from marlax.algorithms.ppo.trainer import Trainer
from marlax.cli import train as train_cli
from marlax.config import load_config
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics
from tests.cli_process import assert_refused, run_marlax

ROOT = Path(__file__).resolve().parents[2]

TINY = {
    "env": {"name": "simple_spread", "num_envs": 8, "params": {"max_steps": 10}},
    "model": {"name": "gru", "core": {"hidden_size": 16}},
    "ppo": {"total_env_steps": 8 * 16 * 40, "rollout_length": 16, "num_minibatches": 2},
    "run": {"log_every": 1, "checkpoint_every": 4},
}


MLP = {"name": "mlp", "core": {"hidden_sizes": [16]}}
"""A small feed-forward model: quicker to compile than TINY's GRU."""


def _write_config(tmp_path: Path, raw: dict = TINY) -> Path:
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(raw))
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    train_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `train` a subcommand
    return app


def _params(runs_dir: Path, name: str):
    return jax.tree.leaves(load_trained(runs_dir, name).state.params)


def test_train_writes_a_complete_run_folder(tmp_path):
    config = _write_config(
        tmp_path, {**TINY, "ppo": {**TINY["ppo"], "total_env_steps": 8 * 16 * 8}}
    )
    result = CliRunner().invoke(
        _app(), ["train", "--config", str(config), "--runs-dir", str(tmp_path / "runs")]
    )
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name in result.output
    name_parts = folder.name.split("-")
    assert len(name_parts) == 3 and name_parts[2].isdigit()
    rows = read_metrics(folder / "metrics.jsonl")
    assert [row["update"] for row in rows] == list(range(1, 9))
    assert [row["env_steps"] for row in rows] == [128 * u for u in range(1, 9)]
    assert Checkpointer(folder / "checkpoints").all_steps()[-1] == 8
    status = json.loads((folder / "status.json").read_text())
    assert status["state"] == "finished" and status["env_steps"] == 1024
    assert (folder / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any((folder / "tb").iterdir())
    assert json.loads((folder / "config.json").read_text())["model"]["name"] == "gru"


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ("ppo.learning_rate=-1", "ppo.learning_rate"),
        ("ppo.num_minibatches=7", "ppo.num_minibatches"),
        ("env.name=simple_sprad", "envs.0.name"),
        ("ppo.lr=0.1", "ppo.lr"),
        ('model.mean_field={"radius": -1}', "model.mean_field.radius"),
    ],
)
def test_bad_config_is_one_line_and_exit_code_2(tmp_path, setting, field):
    config = _write_config(tmp_path)
    result = run_marlax("train", "--config", str(config), "--set", setting, cwd=tmp_path)
    assert_refused(result, field)
    assert not (tmp_path / "runs").exists()


def _optimizer_counts(opt_state) -> set[int]:
    """The step counts held in an optax state (one per counting transform and seed)."""
    leaves = jax.tree_util.tree_flatten_with_path(opt_state)[0]
    return {
        int(count)
        for path, leaf in leaves
        if jax.tree_util.keystr(path).endswith("count")
        for count in np.ravel(leaf)
    }


@pytest.mark.slow  # ~1 min on a loaded 2-core host; the fast tier checks the loop itself
@pytest.mark.parametrize(("log_every", "checkpoint_every"), [(2, 4), (3, 3), (5, 5)])
def test_every_configured_update_runs_when_log_every_does_not_divide_them(
    tmp_path, log_every, checkpoint_every
):
    """7 updates in calls of 2, 3 or 5: the remainder runs too, so the run reaches
    total_env_steps (rounded to whole updates) and the learning rate anneals to its end."""
    settings = [f"run.runs_dir={tmp_path / 'runs'}", f"run.log_every={log_every}"]
    settings += [f"run.checkpoint_every={checkpoint_every}", "ppo.total_env_steps=1000"]
    config = load_config(_write_config(tmp_path, {**TINY, "model": MLP}), settings)
    assert config.num_updates == 7 and 7 % log_every  # 1000 // 128: the remainder is dropped
    folder = create_run(config)
    result = train_run(folder, config)
    assert result.updates == 7 and result.env_steps == 7 * 128 == folder.read_status()["env_steps"]
    assert [row["update"] for row in read_metrics(folder.metrics_path)] == list(range(1, 8))
    trained = load_trained(folder.path.parent, folder.name)
    assert trained.update == 7 and int(trained.state.update[0]) == 7
    steps_per_update = config.ppo.num_epochs * config.ppo.num_minibatches
    assert max(_optimizer_counts(trained.state.opt_state)) == 7 * steps_per_update


def test_a_run_in_which_no_episode_ends_finishes_cleanly(tmp_path):
    """One update of 16 steps, episodes of 50 steps: no return is measured, yet the run
    finishes, says so, and writes strict JSON with a null best return."""
    raw = {
        **TINY,
        "env": {**TINY["env"], "params": {"max_steps": 50}},
        "model": MLP,
        "ppo": {**TINY["ppo"], "total_env_steps": 8 * 16},
    }
    result = CliRunner().invoke(
        _app(),
        ["train", "--config", str(_write_config(tmp_path, raw)), "--runs-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    assert "no episode ended in 128 env-steps" in " ".join(result.output.split())
    (folder,) = (path for path in tmp_path.iterdir() if path.is_dir())
    text = (folder / "status.json").read_text()
    status = json.loads(text, parse_constant=lambda token: pytest.fail(f"{token} in status"))
    assert status["state"] == "finished" and status["best_return"] is None
    assert "no episode ended" in status["message"]
    assert [row["return"] for row in read_metrics(folder / "metrics.jsonl")] == [None]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    config = load_config(
        _write_config(tmp_path), [f"run.runs_dir={tmp_path / 'runs'}", "run.checkpoint_every=2"]
    )
    original = Trainer.update
    calls = {"count": 0}

    def _poisoned(self, state, num_updates=None):
        state, metrics = original(self, state, num_updates)
        calls["count"] += 1
        if calls["count"] == 5:
            metrics = {**metrics, "loss/value": metrics["loss/value"] * np.nan}
        return state, metrics

    monkeypatch.setattr(Trainer, "update", _poisoned)
    folder = create_run(config)
    with pytest.raises(TrainingDivergedError, match="update 5.*checkpoint is update 4"):
        train_run(folder, config)
    assert Checkpointer(folder.checkpoint_dir).latest_step() == 4
    status = folder.read_status()
    assert status["state"] == "failed" and "NaN" in status["message"]
    assert [row["update"] for row in read_metrics(folder.metrics_path)] == [1, 2, 3, 4]


def _start_victim(config_path: Path, runs_dir: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "marlax.cli.app", "train", "--config", str(config_path)]
    command += ["--set", "run.name=victim", "--runs-dir", str(runs_dir)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.slow  # CI time (~65 s); the fast tier checks stop + exact resume in the host loop
def test_sigkill_then_resume_ends_with_exactly_the_uninterrupted_parameters(tmp_path):
    """A run killed with SIGKILL at a random moment after its first checkpoint, then resumed,
    ends bitwise equal to the same config trained without interruption."""
    runs_dir = tmp_path / "runs"
    config_path = _write_config(tmp_path)
    reference = load_config(config_path, ["run.name=reference", f"run.runs_dir={runs_dir}"])
    train_run(create_run(reference), reference)

    victim = _start_victim(config_path, runs_dir)
    checkpoints = runs_dir / "victim" / "checkpoints"
    deadline = time.time() + 300
    while not (checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir())):
        assert victim.poll() is None and time.time() < deadline, "victim ended before a checkpoint"
        time.sleep(0.05)
    time.sleep(random.Random(0).uniform(0.0, 0.3))
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    folder = RunFolder(runs_dir / "victim")
    killed_at = Checkpointer(folder.checkpoint_dir).latest_step()
    assert folder.read_status()["state"] == "running", "the victim finished before the kill"

    folder, config = open_run(runs_dir, "victim")
    train_run(folder, config)
    for resumed, uninterrupted in zip(
        _params(runs_dir, "victim"), _params(runs_dir, "reference"), strict=True
    ):
        np.testing.assert_array_equal(resumed, uninterrupted)
    rows = read_metrics(folder.metrics_path)
    assert [row["update"] for row in rows] == list(range(1, 41)), f"killed at {killed_at}"
    reference_rows = read_metrics(runs_dir / "reference" / "metrics.jsonl")
    assert [row["loss/total"] for row in rows] == [row["loss/total"] for row in reference_rows]
