"""A MAML run through the host loop: metric lines, checkpoints, exact resume, and the policy
that `marlax enjoy`/`eval` play."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run
from marlax.algorithms.maml.loop import train_run
from marlax.algorithms.maml.policy import load_maml_run
from marlax.algorithms.trained import load_run_policy
from marlax.config import load_from_dict
from marlax.runs.metrics import read_metrics
from tests.algorithms.maml.helpers import TINY_RAW


def _config(tmp_path, name, updates):
    raw = {
        **TINY_RAW,
        "maml": {"meta_batch_size": 3, "num_updates": updates},
        "run": {"log_every": 1, "checkpoint_every": 1, "runs_dir": str(tmp_path), "name": name},
    }
    return load_from_dict(raw)


@pytest.mark.slow  # three short trainings: ~30 s on a quiet 2-core machine
def test_a_run_resumes_exactly_and_plays_its_meta_policy(tmp_path):
    whole = _config(tmp_path, "whole", 3)
    train_run(create_run(whole), whole)
    first = _config(tmp_path, "split", 2)
    folder = create_run(first)
    train_run(folder, first)
    # the same folder, continued to 3 updates (what `--resume` with a longer run does)
    train_run(folder, _config(tmp_path, "split", 3))
    resumed, uninterrupted = load_maml_run(tmp_path, "split"), load_maml_run(tmp_path, "whole")
    for a, b in zip(
        jax.tree.leaves(resumed.state.params),
        jax.tree.leaves(uninterrupted.state.params),
        strict=True,
    ):
        np.testing.assert_array_equal(a, b)
    rows = read_metrics(folder.metrics_path)
    assert [row["update"] for row in rows] == [1, 2, 3]
    assert rows[-1]["env_steps"] == 3 * 6 * 8 * 2  # updates x envs x steps x (inner + 1)
    assert json.loads(folder.status_path.read_text())["state"] == "finished"
    run_policy = load_run_policy(tmp_path, "split")
    env = run_policy.env
    obs, state = env.reset(jax.random.key(0))
    policy = run_policy.policy
    actions, _ = policy.act(jax.random.key(1), obs, state, policy.initial_memory(), True)
    assert actions.shape == (1, 2)
    assert bool(np.all(np.abs(actions) <= env.max_action + 1e-6))  # scaled to the env's box
