"""Multi-process training of a seed-axis learner (QMIX here; ES, IQL/VDN, MF-Q, MADDPG/SAC, MAML
and VariBAD share the code): two processes, each training one of two seeds, end with the
parameters one process reaches training both, and a seed count that does not split over the
processes is refused before any training.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest

from marlax.algorithms.common.checkpointed import restore_checkpoint
from marlax.algorithms.common.run_folders import open_run
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics
from tests.algorithms.q_learning.helpers import tiny_q
from tests.distributed.test_multiprocess import _launch, _marlax

pytestmark = pytest.mark.slow  # two launches that compile in two processes: ~1 min on 2 cores

TINY = tiny_q("qmix", run={"log_every": 2, "checkpoint_every": 4, "num_seeds": 2})


def _params(runs_dir: Path, name: str) -> list[np.ndarray]:
    folder, config = open_run(runs_dir, name)
    state, _, _ = restore_checkpoint(folder, QTrainer(config), None)
    return [np.asarray(leaf) for leaf in jax.tree.leaves(state.params)]


def test_two_processes_train_the_seeds_one_process_trains(tmp_path):
    (tmp_path / "tiny.json").write_text(json.dumps(TINY))
    one = _marlax(["train", "-c", "tiny.json", "--set", "run.name=one"], tmp_path)
    assert one.returncode == 0, one.stderr
    two = _launch(["train", "-c", "tiny.json", "--set", "run.name=two"], tmp_path)
    assert two.returncode == 0, two.stdout

    runs_dir = tmp_path / "runs"
    for leaf_two, leaf_one in zip(_params(runs_dir, "two"), _params(runs_dir, "one"), strict=True):
        assert leaf_two.shape[0] == 2  # both seeds are in the checkpoint, gathered whole
        np.testing.assert_allclose(leaf_two, leaf_one, rtol=1e-5, atol=1e-6)
    rows = read_metrics(runs_dir / "two" / "metrics.jsonl")
    assert [row["update"] for row in rows] == list(range(1, 13))  # written once, by process 0
    one_rows = read_metrics(runs_dir / "one" / "metrics.jsonl")
    # the TD loss has no value (null) before learning starts
    learning = [index for index, row in enumerate(one_rows) if row.get("loss/td") is not None]
    assert learning  # the tiny run does learn for some updates
    np.testing.assert_allclose(
        [rows[index]["loss/td"] for index in learning],
        [one_rows[index]["loss/td"] for index in learning],
        rtol=1e-4,
    )
    assert RunFolder(runs_dir / "two").read_status()["state"] == "finished"

    odd = _launch(["train", "-c", "tiny.json", "--set", "run.num_seeds=3"], tmp_path)
    assert odd.returncode == 2, odd.stdout
    assert "run.num_seeds" in odd.stdout and "expected a multiple of 2" in odd.stdout
