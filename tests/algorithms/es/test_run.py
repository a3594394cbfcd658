"""An ES run: determinism under a key, exact resume, and the loaded policy is the one whose
returns were measured."""

from __future__ import annotations

import shutil

import jax
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run
from marlax.algorithms.es.loop import train_run
from marlax.algorithms.es.policy import restore_es_run
from marlax.algorithms.es.trainer import ESTrainer
from marlax.algorithms.trained import load_run_policy
from marlax.config import load_from_dict
from tests.algorithms.es.helpers import tiny_es_raw


def _leaves(state) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree.leaves(jax.random.key_data(state.key))] + [
        np.asarray(leaf) for leaf in jax.tree.leaves(state.strategy_state)
    ]


def _assert_same(left, right) -> None:
    for a, b in zip(_leaves(left), _leaves(right), strict=True):
        np.testing.assert_array_equal(a, b)


def test_same_key_same_generations_and_seeds_differ():
    config = load_from_dict({**tiny_es_raw(), "run": {"num_seeds": 2}})
    trainer = ESTrainer(config)
    first, metrics = trainer.update(trainer.init(jax.random.key(3)), 2)
    second, again = trainer.update(trainer.init(jax.random.key(3)), 2)
    _assert_same(first, second)
    np.testing.assert_array_equal(np.asarray(metrics["return"]), np.asarray(again["return"]))
    assert metrics["return"].shape == (2, 2)
    means = np.asarray(first.strategy_state.mean)
    assert not np.array_equal(means[0], means[1])  # the seeds are independent searches


@pytest.mark.slow  # the fast tier's time budget: run with -m slow
def test_resumed_run_equals_the_uninterrupted_one_bitwise(tmp_path):
    raw = {
        **tiny_es_raw(),
        "run": {"log_every": 1, "checkpoint_every": 2, "runs_dir": str(tmp_path)},
    }
    config = load_from_dict(raw)
    whole = train_run(
        create_run(load_from_dict({**raw, "run": {**raw["run"], "name": "a"}})), config
    )
    folder = create_run(load_from_dict({**raw, "run": {**raw["run"], "name": "b"}}))
    train_run(folder, config)
    # as if killed after the checkpoint at generation 2: drop the final one and resume
    shutil.rmtree(folder.checkpoint_dir / "4")
    resumed = train_run(folder, config)
    assert whole.updates == resumed.updates == 4
    _assert_same(resumed.state, whole.state)
    assert restore_es_run(folder, config, None).update == 4


@pytest.mark.slow
def test_enjoy_and_eval_load_the_deployed_mean_of_the_search(tmp_path):
    raw = {
        **tiny_es_raw(),
        "run": {"log_every": 1, "checkpoint_every": 2, "runs_dir": str(tmp_path)},
    }
    config = load_from_dict({**raw, "run": {**raw["run"], "name": "es-run"}})
    result = train_run(create_run(config), config)
    run_policy = load_run_policy(tmp_path, "es-run")
    assert run_policy.algorithm == "es" and run_policy.update == 4
    trained = restore_es_run(run_policy.folder, config, None)
    expected = trained.trainer.setup.player.solution.actor_params(
        result.state.strategy_state.mean[0]
    )
    for got, want in zip(
        jax.tree.leaves(run_policy.policy.actor_params), jax.tree.leaves(expected), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
