"""A PBT run folder: lineage file and plot, per-member hyperparameters in the metric lines,
exact resume from a checkpoint, and the best member as the run's policy."""

from __future__ import annotations

import json
import shutil

import jax
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.pbt.loop import train_run
from marlax.algorithms.pbt.policy import best_first, restore_pbt_run
from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.trained import load_run_policies
from marlax.config import load_from_dict
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics
from tests.algorithms.pbt.helpers import tiny_pbt_raw


def _lineage(folder: RunFolder) -> list[dict]:
    return [json.loads(line) for line in (folder.path / "lineage.jsonl").read_text().splitlines()]


def _leaves(folder: RunFolder) -> list:
    state = restore_pbt_run(folder, open_run(folder.path.parent, folder.name)[1], None).state
    return jax.tree.leaves((state.params, state.opt_state))


@pytest.mark.slow
def test_run_logs_lineage_resumes_exactly_and_plays_the_best_member(tmp_path):
    raw = tiny_pbt_raw(members=4, updates=4, interval=2)
    raw["run"].update(runs_dir=str(tmp_path), name="reference", checkpoint_every=2)
    config = load_from_dict(raw)
    reference = create_run(config)
    train_run(reference, config)

    records = _lineage(reference)
    assert [row["update"] for row in records] == [0] * 4 + [2] * 4 + [4] * 4
    # 16 steps by update 2 and episodes of 25: no return yet, so no one is copied (NaN-safe)
    assert all(row["fitness"] is None and row["copied_from"] is None for row in records[4:8])
    # by update 4 episodes ended: one member of four (ceil(0.25 * 4)) copies another
    copies = [row for row in records[8:] if row["copied_from"] is not None]
    assert len(copies) == 1 and copies[0]["copied_from"] != copies[0]["member"]
    assert (reference.path / "lineage.png").stat().st_size > 0
    rows = read_metrics(reference.metrics_path)
    last = records[-4:]
    for member in range(4):
        for name, value in last[member]["hyperparameters"].items():
            assert rows[-1][f"pbt/{name}/{member}"] == pytest.approx(value, rel=1e-6)

    # a run that crashed after its update-2 checkpoint: update-4 files are lost, the metric
    # and lineage lines past update 2 stay behind and must be redone, not kept twice
    victim_path = tmp_path / "victim"
    shutil.copytree(reference.path, victim_path)
    shutil.rmtree(victim_path / "checkpoints" / "4")
    victim, victim_config = open_run(tmp_path, "victim")
    train_run(victim, victim_config)
    for resumed, uninterrupted in zip(_leaves(victim), _leaves(reference), strict=True):
        np.testing.assert_array_equal(resumed, uninterrupted)
    assert _lineage(victim) == records
    assert [row["update"] for row in read_metrics(victim.metrics_path)] == [1, 2, 3, 4]

    # seed index 0 of a PBT run is its best member by the last interval's fitness
    with Checkpointer(reference.checkpoint_dir) as checkpointer:
        state = checkpointer.restore(None, PBTTrainer(config).abstract_state())
    logged = [np.nan if row["fitness"] is None else row["fitness"] for row in last]
    np.testing.assert_allclose(np.asarray(state.fitness), logged, rtol=1e-6)
    best = int(best_first(np.asarray(state.fitness))[0])
    policy = load_run_policies(tmp_path, "reference", seed_indices=(0,))[0]
    assert (policy.algorithm, policy.seed_index, policy.num_seeds) == ("pbt", 0, 4)
    best_actor = jax.tree.map(lambda leaf: leaf[best], state.train.params["actor"])
    for played, saved in zip(
        jax.tree.leaves(policy.policy.actor_params), jax.tree.leaves(best_actor), strict=True
    ):
        np.testing.assert_array_equal(played, saved)
