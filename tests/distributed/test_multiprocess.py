"""Multi-process PPO on `jax.distributed` over loopback (gloo): two processes train what one
does, a killed process ends the launch quickly, and the run resumes exactly.

Every process is a subprocess with a hard timeout and XLA's collective timeout set, so a hang
fails the test instead of blocking the suite.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from marlax.algorithms.ppo.restore import load_trained
from marlax.distributed import LocalCluster
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics

pytestmark = pytest.mark.slow  # each launch compiles in two processes: ~30-60 s on 2 cores

NUM_UPDATES = 40  # long enough that a signal lands before the end
TINY = {
    "env": {"name": "simple_spread", "num_envs": 4, "params": {"max_steps": 10}},
    "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
    "ppo": {"total_env_steps": 4 * 16 * NUM_UPDATES, "rollout_length": 16, "num_minibatches": 2},
    "run": {"log_every": 1, "checkpoint_every": 4},
}
HANG_LIMIT_S = 300  # no single command here should come near this
ENV = {
    **{key: value for key, value in os.environ.items() if not key.startswith("MARLAX_")},
    "XLA_FLAGS": "--xla_cpu_collective_call_terminate_timeout_seconds=10",
}


def _marlax(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "marlax.cli.app", *arguments]
    return subprocess.run(
        command, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=HANG_LIMIT_S
    )


def _launch(arguments: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return _marlax(["launch", "--local", "2", "--timeout", "240", "--", *arguments], cwd)


def _wait_for_a_checkpoint(run: Path, processes: list, output: object) -> None:
    checkpoints = run / "checkpoints"
    deadline = time.monotonic() + HANG_LIMIT_S
    while not (checkpoints.is_dir() and any(p.name.isdigit() for p in checkpoints.iterdir())):
        assert all(process.poll() is None for process in processes), output
        assert time.monotonic() < deadline, output
        time.sleep(0.05)


def _params(runs_dir: Path, name: str) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree.leaves(load_trained(runs_dir, name).state.params)]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A folder with runs/one (one process) and runs/two (two processes) of TINY."""
    folder = tmp_path_factory.mktemp("multiprocess")
    (folder / "tiny.json").write_text(json.dumps(TINY))
    one = _marlax(["train", "-c", "tiny.json", "--set", "run.name=one"], folder)
    assert one.returncode == 0, one.stderr
    two = _launch(["train", "-c", "tiny.json", "--set", "run.name=two"], folder)
    assert two.returncode == 0, two.stdout
    (folder / "two.out").write_text(two.stdout)
    return folder


def test_two_processes_train_the_parameters_one_process_trains(trained):
    runs_dir = trained / "runs"
    for two, one in zip(_params(runs_dir, "two"), _params(runs_dir, "one"), strict=True):
        np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-6)
    rows = read_metrics(runs_dir / "two" / "metrics.jsonl")
    assert [row["update"] for row in rows] == list(range(1, NUM_UPDATES + 1))  # written once
    one_rows = read_metrics(runs_dir / "one" / "metrics.jsonl")
    np.testing.assert_allclose(
        [row["loss/total"] for row in rows], [row["loss/total"] for row in one_rows], rtol=1e-4
    )
    assert RunFolder(runs_dir / "two").read_status()["state"] == "finished"
    output = (trained / "two.out").read_text().splitlines()
    assert "[p0] run two (runs/two)" in output
    assert any(line.startswith("[p0] finished two: ") for line in output)
    assert not any(line.startswith("[p1] ") and "two" in line for line in output)


def test_the_env_batch_must_split_over_every_process(trained):
    odd = _launch(["train", "-c", "tiny.json", "--set", "env.num_envs=3"], trained)
    assert odd.returncode == 2, odd.stdout
    assert (
        "expected a multiple of 2: the env batch splits over the 2 devices of all 2" in odd.stdout
    )


def test_a_killed_process_ends_the_launch_and_the_run_resumes_exactly(trained, monkeypatch):
    monkeypatch.chdir(trained)  # the processes start here
    output = io.StringIO()
    arguments = ["train", "-c", "tiny.json", "--set", "run.name=victim"]
    cluster = LocalCluster(2, arguments, env=ENV, output=output)
    try:
        cluster.start()
        _wait_for_a_checkpoint(trained / "runs" / "victim", cluster.processes, output)
        os.kill(cluster.processes[1].pid, signal.SIGKILL)
        killed = time.monotonic()
        code = cluster.wait(timeout_s=120)
    finally:
        cluster.stop()
    assert code == 128 + signal.SIGKILL, output.getvalue()
    assert time.monotonic() - killed < 60
    assert "[launch] process 1 was killed by SIGKILL" in output.getvalue()
    runs_dir = trained / "runs"
    assert Checkpointer(runs_dir / "victim" / "checkpoints").latest_step() < NUM_UPDATES
    shutil.copytree(runs_dir / "victim", runs_dir / "victim-alone")

    resumed = _launch(["train", "--resume", "victim"], trained)
    assert resumed.returncode == 0, resumed.stdout
    for leaf, uninterrupted in zip(
        _params(runs_dir, "victim"), _params(runs_dir, "two"), strict=True
    ):
        np.testing.assert_array_equal(leaf, uninterrupted)
    rows = read_metrics(runs_dir / "victim" / "metrics.jsonl")
    assert [row["update"] for row in rows] == list(range(1, NUM_UPDATES + 1))

    # the checkpoint holds whole arrays, so one process can take over the run
    alone = _marlax(["train", "--resume", "victim-alone"], trained)
    assert alone.returncode == 0, alone.stderr
    for leaf, uninterrupted in zip(
        _params(runs_dir, "victim-alone"), _params(runs_dir, "two"), strict=True
    ):
        np.testing.assert_allclose(leaf, uninterrupted, rtol=1e-5, atol=1e-6)


def test_sigterm_to_the_launcher_stops_every_process_at_one_update(trained):
    """Both processes stop after the same call, save one checkpoint together, exit 0 (a clean
    stop), and the run resumes to the uninterrupted parameters."""
    command = [sys.executable, "-m", "marlax.cli.app", "launch", "--local", "2", "--timeout"]
    command += ["240", "--", "train", "-c", "tiny.json", "--set", "run.name=stopped"]
    launcher = subprocess.Popen(
        command,
        cwd=trained,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_for_a_checkpoint(trained / "runs" / "stopped", [launcher], "launcher ended")
        launcher.send_signal(signal.SIGTERM)
        output, _ = launcher.communicate(timeout=HANG_LIMIT_S)
    finally:
        launcher.kill()
    assert launcher.returncode == 0, output
    assert "[launch] passing SIGTERM on to every process" in output
    status = RunFolder(trained / "runs" / "stopped").read_status()
    assert status["state"] == "stopped", status
    saved = Checkpointer(trained / "runs" / "stopped" / "checkpoints").latest_step()
    assert saved == status["update"] < NUM_UPDATES

    resumed = _launch(["train", "--resume", "stopped"], trained)
    assert resumed.returncode == 0, resumed.stdout
    runs_dir = trained / "runs"
    for leaf, uninterrupted in zip(
        _params(runs_dir, "stopped"), _params(runs_dir, "two"), strict=True
    ):
        np.testing.assert_array_equal(leaf, uninterrupted)


def test_sigterm_to_one_process_stops_cleanly_and_resumes(trained):
    """One process: SIGTERM finishes the call, saves, marks the run stopped, exits 0; the
    resumed run ends with the uninterrupted run's parameters."""
    command = [sys.executable, "-m", "marlax.cli.app", "train", "-c", "tiny.json"]
    command += ["--set", "run.name=stopped-one"]
    process = subprocess.Popen(
        command, cwd=trained, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_a_checkpoint(trained / "runs" / "stopped-one", [process], "train ended")
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=HANG_LIMIT_S)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "stopped stopped-one by SIGTERM" in output and "--resume stopped-one" in output
    status = RunFolder(trained / "runs" / "stopped-one").read_status()
    assert status["state"] == "stopped", status
    assert status["update"] < NUM_UPDATES

    resumed = _marlax(["train", "--resume", "stopped-one"], trained)
    assert resumed.returncode == 0, resumed.stderr
    runs_dir = trained / "runs"
    for leaf, uninterrupted in zip(
        _params(runs_dir, "stopped-one"), _params(runs_dir, "one"), strict=True
    ):
        np.testing.assert_array_equal(leaf, uninterrupted)
