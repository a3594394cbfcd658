"""A Q-learning run through `marlax train`: run folder, exact resume after SIGKILL (replay
included in the checkpoint), the trained greedy policy, and bad configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.q_learning.loop import train_run
from marlax.algorithms.q_learning.policy import load_trained_q, q_policy
from marlax.cli.app import main
from marlax.config import load_config
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics
from tests.algorithms.q_learning.helpers import tiny_q

ROOT = Path(__file__).resolve().parents[3]


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "q.json"
    path.write_text(json.dumps(raw))
    return path


def _leaves(runs_dir: Path, name: str) -> list:
    state = load_trained_q(runs_dir, name).state
    return jax.tree.leaves((state.params, state.target_params, state.opt_state, state.buffer))


@pytest.mark.slow  # ~63 s; the PPO SIGKILL test keeps the shared resume path in the fast tier
def test_sigkill_then_resume_ends_with_exactly_the_uninterrupted_state(tmp_path):
    """Killed after its first checkpoint, then resumed: parameters, target, optimiser and the
    replay itself end bitwise equal to an uninterrupted run, and so do the metric lines."""
    runs_dir = tmp_path / "runs"
    raw = tiny_q("qmix", q_learning={"total_env_steps": 4 * 8 * 40}, run={"log_every": 1})
    path = _write(tmp_path, raw)
    reference = load_config(path, ["run.name=reference", f"run.runs_dir={runs_dir}"])
    train_run(create_run(reference), reference)

    command = [sys.executable, "-m", "marlax.cli.app", "train", "--config", str(path)]
    command += ["--set", "run.name=victim", "--runs-dir", str(runs_dir)]
    victim = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    checkpoints = runs_dir / "victim" / "checkpoints"
    deadline = time.time() + 300
    while not (checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir())):
        assert victim.poll() is None and time.time() < deadline, "victim ended before a checkpoint"
        time.sleep(0.05)
    time.sleep(0.1)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert RunFolder(runs_dir / "victim").read_status()["state"] == "running"

    folder, config = open_run(runs_dir, "victim")
    train_run(folder, config)
    for resumed, uninterrupted in zip(
        _leaves(runs_dir, "victim"), _leaves(runs_dir, "reference"), strict=True
    ):
        np.testing.assert_array_equal(resumed, uninterrupted)
    rows = read_metrics(folder.metrics_path)
    assert [row["update"] for row in rows] == list(range(1, 41))
    reference_rows = read_metrics(runs_dir / "reference" / "metrics.jsonl")
    assert [row["return"] for row in rows] == [row["return"] for row in reference_rows]
    assert RunFolder(runs_dir / "victim").read_status()["learner"] == "qmix"


def test_the_trained_policy_is_greedy_in_the_legal_actions(tmp_path):
    runs_dir = tmp_path / "runs"
    config = load_config(_write(tmp_path, tiny_q("iql")), [f"run.runs_dir={runs_dir}"])
    folder = create_run(config)
    train_run(folder, config)
    trained = load_trained_q(runs_dir, folder.name)
    policy = q_policy(trained)
    env = trained.trainer.setup.env
    # jitted: op by op these three calls were most of this test's ~20 s in CI
    obs, state = jax.jit(env.reset)(jax.random.key(0))
    act = jax.jit(policy.act, static_argnums=4)
    actions, memory = act(jax.random.key(1), obs, state, policy.initial_memory(), True)
    q, _ = jax.jit(policy.q_values)(obs, policy.initial_memory(), jnp.bool_(True))
    np.testing.assert_array_equal(actions, jnp.argmax(q, -1))
    assert actions.shape == (env.num_agents,)
    with pytest.raises(Exception, match="seed_index"):
        q_policy(trained, seed_index=3)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"algorithm": "qmx"}, "algorithm"),
        ({"q_learning": {"batch_size": 64, "buffer_size": 16}}, "q_learning.batch_size"),
        ({"q_learning": {"rollout_length": 9}}, "q_learning.rollout_length"),
        ({"q_learning": {"total_env_steps": 10}}, "q_learning.total_env_steps"),
        ({"q_learning": {"eps_finish": 1.5}}, "q_learning.eps_finish"),
        ({"env": {"name": "simple_spread", "params": {"continuous_actions": True}}}, "envs.0.name"),
        # an id grid has no room for MF-Q's mean action (`MeanFieldEnv` refuses it)
        ({"algorithm": "mfq", "env": {"name": "grid_return"}}, "model.mean_field"),
        ({"algorithm": "mfq", "model": {"mean_field": {"radius": 0}}}, "model.mean_field.radius"),
    ],
)
def test_bad_q_configs_are_one_line_and_exit_code_2(
    tmp_path, monkeypatch, capsys, overrides, field
):
    raw = tiny_q("qmix")
    for key, value in overrides.items():
        raw[key] = {**raw[key], **value} if isinstance(value, dict) and key != "env" else value
    path = _write(tmp_path, raw)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["marlax", "train", "--config", str(path)])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], lines
    assert not (tmp_path / "runs").exists()
