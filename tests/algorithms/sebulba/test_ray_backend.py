"""Sebulba with Ray actors (`sebulba.backend = "ray"`): the same rollouts as the thread actors,
the policy-lag bound, a killed actor restarted mid-run, restarts used up, and config errors.

One Ray instance serves the whole module (starting one costs ~5-15 s here). It is a new local
instance on free ports (`address="local"`), so another process running its own Ray (the serve
tests under pytest-xdist) does not disturb it.
"""

from __future__ import annotations

import sys

import jax
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run
from marlax.algorithms.sebulba import loop
from marlax.algorithms.sebulba.ray_actors import ActorsLostError
from marlax.algorithms.sebulba.trainer import SebulbaTrainer
from marlax.config import config_to_dict, load_from_dict
from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.metrics import read_metrics
from tests.algorithms.sebulba.helpers import tiny_sebulba

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TINY_GRU = {"name": "gru", "core": {"hidden_size": 8}}


@pytest.fixture(scope="module")
def ray_instance():
    """The module's Ray, shut down after its last test (the trainers only join it)."""
    ray = pytest.importorskip("ray")
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
    assert not ray.is_initialized()


def _started(config) -> SebulbaTrainer:
    """A trainer whose actors have started with the parameters of key 3, version 0."""
    trainer = SebulbaTrainer(config)
    trainer._start_actors(trainer.init(jax.random.key(3)))
    return trainer


def _rollouts_without_learning(trainer: SebulbaTrainer, rounds: int) -> list:
    """`rounds` x (one rollout per actor), all acting with the initial parameters."""
    try:
        return [trainer.actors.take() for _ in range(rounds)]
    finally:
        trainer.close()


def test_ray_actors_give_the_thread_actors_rollouts(ray_instance, tmp_path):
    """Same params, keys and env seeds (both from run seed, version and actor index): every
    array of two rounds of rollouts is bitwise equal, GRU memory included."""
    # the Ray actors' processes start while the threads run
    ray_trainer = _started(tiny_sebulba(str(tmp_path), model=TINY_GRU, backend="ray"))
    threads = _rollouts_without_learning(_started(tiny_sebulba(str(tmp_path), model=TINY_GRU)), 2)
    rays = _rollouts_without_learning(ray_trainer, 2)
    thread_leaves, ray_leaves = jax.tree.leaves(threads), jax.tree.leaves(rays)
    assert len(thread_leaves) == len(ray_leaves)
    for thread_leaf, ray_leaf in zip(thread_leaves, ray_leaves, strict=True):
        np.testing.assert_array_equal(np.asarray(thread_leaf), np.asarray(ray_leaf))
    (first_0, first_1), (second_0, _) = rays
    assert first_0.version == second_0.version == 0
    assert not np.array_equal(first_0.transition.model_obs, first_1.transition.model_obs)
    assert first_0.finished.any()  # 5-step episodes in 8-step rollouts: resets happened
    memory = jax.tree.leaves(second_0.carries)
    assert memory and all(np.abs(leaf).max() > 0 for leaf in memory)  # carried over, not fresh


@pytest.mark.slow  # ~25 s: two Ray actor processes start and compile
def test_ray_policy_lag_is_queue_size_whatever_the_timing(ray_instance, tmp_path):
    """Each actor keeps `queue_size` calls in flight: the lag of update k is min(k, queue_size),
    within the bound queue_size + 1, and `actor_restarts` stays 0."""
    queue_size = 2
    trainer = SebulbaTrainer(
        tiny_sebulba(str(tmp_path), updates=6, backend="ray", queue_size=queue_size)
    )
    try:
        state, metrics = trainer.update(trainer.init(jax.random.key(0)), 6)
    finally:
        trainer.close()
    lags = np.array(trainer.lags).reshape(6, 2)  # [update, actor]
    expected = np.minimum(np.arange(6), queue_size)
    np.testing.assert_array_equal(lags, np.stack([expected, expected], axis=1))
    assert lags.max() <= queue_size + 1
    np.testing.assert_array_equal(metrics["policy_lag/max"][0], expected)
    np.testing.assert_array_equal(metrics["actor_restarts"][0], np.zeros(6))
    assert int(state.update[0]) == 6


def _killing_trainer(ray, after_update: int):
    """A SebulbaTrainer that kills Ray actor 0 (Ray may restart it) once `after_update`
    updates are done."""

    class KillingTrainer(SebulbaTrainer):
        def update(self, state, num_updates=1):
            state, metrics = super().update(state, num_updates)
            if int(state.update[0]) == after_update:
                ray.kill(self.actors.handles[0], no_restart=False)
            return state, metrics

    return KillingTrainer


@pytest.mark.slow  # ~40 s: actors start, one is killed and restarted
def test_a_killed_ray_actor_is_restarted_and_the_run_finishes(ray_instance, tmp_path, monkeypatch):
    monkeypatch.setattr(loop, "SebulbaTrainer", _killing_trainer(ray_instance, after_update=2))
    config = tiny_sebulba(str(tmp_path), updates=6, backend="ray")
    folder = create_run(config)
    result = loop.train_run(folder, config)
    assert result.updates == 6
    rows = read_metrics(folder.metrics_path)
    assert [row["update"] for row in rows] == list(range(1, 7))
    restarts = [row["actor_restarts"] for row in rows]
    assert restarts[:2] == [0, 0] and restarts[-1] >= 1
    assert all(row["policy_lag/max"] <= 2 for row in rows)
    assert folder.read_status()["state"] == "finished"


@pytest.mark.slow  # ~30 s
def test_restarts_used_up_stop_the_run_and_keep_the_checkpoint(ray_instance, tmp_path, monkeypatch):
    monkeypatch.setattr(loop, "SebulbaTrainer", _killing_trainer(ray_instance, after_update=2))
    config = tiny_sebulba(str(tmp_path), updates=6, backend="ray", ray_max_restarts=0)
    folder = create_run(config)
    with pytest.raises(ActorsLostError) as caught:
        loop.train_run(folder, config)
    assert caught.value.field == "sebulba.ray_max_restarts"
    assert isinstance(caught.value, ConfigError)  # the CLI's one line and exit 2
    status = folder.read_status()
    assert status["state"] == "failed"
    assert "the last checkpoint is update 2" in status["message"]
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        assert checkpointer.latest_step() == 2


@pytest.mark.parametrize(
    ("sebulba", "field"),
    [
        ({"backend": "bogus"}, "sebulba.backend"),
        ({"backend": "ray", "ray_max_restarts": -1}, "sebulba.ray_max_restarts"),
        ({"backend": "ray", "ray_max_restarts": 1.5}, "sebulba.ray_max_restarts"),
        ({"backend": "ray", "ray_address": ""}, "sebulba.ray_address"),
    ],
)
def test_bad_ray_settings_name_the_field(sebulba, field):
    raw = {
        "algorithm": "sebulba",
        "env": {"name": "simple_spread", "num_envs": 4},
        "ppo": {"total_env_steps": 4096, "rollout_length": 8},
        "sebulba": sebulba,
    }
    with pytest.raises(ConfigError) as caught:
        load_from_dict(raw)
    assert caught.value.field == field


def test_the_config_travels_to_the_actors_as_a_plain_dict(tmp_path):
    config = tiny_sebulba(str(tmp_path), backend="ray", ray_max_restarts=5, ray_address="h:1")
    assert load_from_dict(config_to_dict(config)) == config
    assert tiny_sebulba(str(tmp_path)).sebulba.backend == "threads"  # the default


def test_without_ray_the_ray_backend_is_a_config_error_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    config = tiny_sebulba(str(tmp_path), backend="ray")
    with pytest.raises(ConfigError, match=r"marlax\[serve\]") as caught:
        loop.train_run(create_run(config), config)
    assert caught.value.field == "sebulba.backend"
