"""PBT on Ray actors (`pbt.backend = "ray"`): the driver's draws equal in-graph PBT's, members
train as in-graph members do, a killed member is restarted and the run ends as if it had not
been, and the run plays like an in-graph one. One Ray instance per module (slow tier)."""

from __future__ import annotations

import json
import sys
import threading
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run
from marlax.algorithms.pbt.loop import train_run
from marlax.algorithms.pbt.policy import best_first
from marlax.algorithms.pbt.ray_population import MEMBERS_DIR, actor_name
from marlax.algorithms.pbt.ray_record import (
    PopulationRecord,
    accumulate,
    exploit,
    initial_record,
    record_of,
)
from marlax.algorithms.pbt.ray_rounds import round_pbt_columns, round_sizes
from marlax.algorithms.pbt.ray_session import import_ray
from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.pbt.types import Hyperparams, PBTState
from marlax.algorithms.ppo.types import TrainState
from marlax.algorithms.trained import load_run_policies
from marlax.config import load_from_dict
from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer
from tests.algorithms.pbt.helpers import tiny_pbt, tiny_pbt_raw

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ---- the driver, without Ray ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("pbt", "field"),
    [
        ({"backend": "spark"}, "pbt.backend"),
        ({"backend": "ray", "max_restarts": -1}, "pbt.max_restarts"),
        ({"backend": "ray", "member_cpus": -0.5}, "pbt.member_cpus"),
    ],
)
def test_ray_settings_errors_name_the_field(pbt, field):
    with pytest.raises(ConfigError) as error:
        load_from_dict(tiny_pbt_raw(**pbt))
    assert error.value.field == field


def test_in_graph_is_the_default_backend():
    assert tiny_pbt().pbt.backend == "in_graph"


def test_missing_ray_is_a_config_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(ConfigError) as error:
        import_ray()
    assert error.value.field == "pbt.backend"
    assert "pip install 'marlax[serve]'" in str(error.value)


@pytest.mark.parametrize(
    ("done", "size", "interval", "rounds"),
    [(0, 10, 5, [5, 5]), (3, 7, 4, [1, 4, 2]), (0, 3, 100, [3]), (4, 1, 4, [1]), (2, 2, 1, [1, 1])],
)
def test_rounds_end_at_interval_boundaries_and_at_the_call_end(done, size, interval, rounds):
    assert round_sizes(done, size, interval) == rounds


def _fake_population(trainer: PBTTrainer, key: jax.Array, fitness: np.ndarray) -> PBTState:
    """An in-graph PBTState whose interval sums give `fitness`; its members are tiny stand-ins
    (`_exploit` only indexes their parameters)."""
    members = len(fitness)
    hyper_key, state_key = jax.random.split(key)
    hyperparams = trainer._initial_hyperparams(hyper_key)
    measured = np.isfinite(fitness)
    count = np.where(measured, 3.0, 0.0).astype(np.float32)
    stand_in = jnp.arange(members, dtype=jnp.float32)
    train = TrainState(stand_in, stand_in, stand_in, stand_in, jnp.zeros((members,), jnp.int32))
    return PBTState(
        train=train,
        hyperparams=hyperparams,
        return_sum=jnp.asarray(np.where(measured, fitness * 3.0, 0.0), jnp.float32),
        return_count=jnp.asarray(count),
        fitness=jnp.full((members,), jnp.nan, jnp.float32),
        key=state_key,
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_driver_exploit_makes_the_in_graph_decisions(seed):
    """Same sums, hyperparameters and key: same sources, same explored values, same next key."""
    config = tiny_pbt(members=6, quantile=0.5, resample_probability=0.5)
    trainer = PBTTrainer(config)
    fitness = np.array([3.0, np.nan, -1.0, 7.5, 0.25, -4.0], np.float32)
    state = _fake_population(trainer, jax.random.key(seed), fitness)
    expected, expected_source = jax.jit(trainer._exploit)(state)
    record, source = exploit(record_of(state, 10), config)
    np.testing.assert_array_equal(source, expected_source)
    np.testing.assert_array_equal(record.source, expected_source)
    assert sorted(np.flatnonzero(source != np.arange(6))) == [1, 2, 5]  # the bottom half
    for name in ("learning_rate", "entropy_coef", "clip_eps"):
        np.testing.assert_array_equal(
            getattr(record.hyperparams, name), getattr(expected.hyperparams, name)
        )
    np.testing.assert_array_equal(record.fitness, expected.fitness)
    np.testing.assert_array_equal(record.return_sum, np.zeros(6))
    np.testing.assert_array_equal(
        jax.random.key_data(record.key), jax.random.key_data(expected.key)
    )


@pytest.mark.slow
def test_initial_draws_are_in_graph_pbts(key):
    config = tiny_pbt(members=5)
    trainer = PBTTrainer(config)
    expected = jax.jit(trainer._init_population)(key)
    record = initial_record(config, key)
    for name in ("learning_rate", "entropy_coef", "clip_eps"):
        np.testing.assert_array_equal(
            getattr(record.hyperparams, name), getattr(expected.hyperparams, name)
        )
    np.testing.assert_array_equal(
        jax.random.key_data(record.key), jax.random.key_data(expected.key)
    )


def test_interval_sums_skip_unmeasured_updates():
    record = initial_record(tiny_pbt(members=2), jax.random.key(0))
    returns = np.array([[1.0, np.nan, 2.5], [np.nan, np.nan, np.nan]], np.float32)
    record = accumulate(record, returns)
    np.testing.assert_array_equal(record.return_sum, [3.5, 0.0])
    np.testing.assert_array_equal(record.return_count, [2.0, 0.0])
    assert record.update == 3


def test_a_rounds_pbt_metrics_change_only_at_its_exploit_step():
    hyperparams = Hyperparams(*(np.array([a, b], np.float32) for a, b in [(1, 2), (3, 4), (5, 6)]))
    before = PopulationRecord(
        hyperparams=hyperparams,
        return_sum=np.zeros(2, np.float32),
        return_count=np.zeros(2, np.float32),
        fitness=np.array([np.nan, np.nan], np.float32),
        key=jax.random.key(0),
        source=np.arange(2, dtype=np.int32),
        update=0,
    )
    new = Hyperparams(*(np.array([a, b], np.float32) for a, b in [(2, 2), (4, 4), (6, 6)]))
    after = PopulationRecord(
        hyperparams=new,
        return_sum=before.return_sum,
        return_count=before.return_count,
        fitness=np.array([-1.0, 2.0], np.float32),
        key=before.key,
        source=np.array([1, 1], np.int32),
        update=3,
    )
    columns = round_pbt_columns(before, after, 3, exploited=True)
    np.testing.assert_array_equal(columns["pbt/exploited"], [[0, 0, 1], [0, 0, 1]])
    np.testing.assert_array_equal(columns["pbt/copied_from"], [[0, 0, 1], [1, 1, 1]])
    np.testing.assert_array_equal(columns["pbt/learning_rate"], [[1, 1, 2], [2, 2, 2]])
    np.testing.assert_array_equal(columns["pbt/fitness"][:, :2], np.full((2, 2), np.nan))
    np.testing.assert_array_equal(columns["pbt/fitness"][:, 2], [-1.0, 2.0])
    kept = round_pbt_columns(before, before, 2, exploited=False)
    np.testing.assert_array_equal(kept["pbt/copied_from"], [[0, 0], [1, 1]])


# ---- on Ray ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray for the module: no dashboard, no fixed ports (another process may run
    its own Ray at the same time)."""
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
    assert not ray.is_initialized()


def _ray_run(tmp_path, name: str, **settings) -> tuple:
    raw = tiny_pbt_raw(**settings, backend="ray", member_cpus=0.5)
    raw["run"].update(runs_dir=str(tmp_path), name=name, log_every=2, checkpoint_every=2)
    config = load_from_dict(raw)
    return create_run(config), config


def _saved_population(folder, config) -> PBTState:
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        return checkpointer.restore(None, PBTTrainer(config).abstract_state())


def _lineage(folder) -> list[dict]:
    return [json.loads(line) for line in (folder.path / "lineage.jsonl").read_text().splitlines()]


def _plain(leaf):
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(leaf))
    return np.asarray(leaf)


@pytest.mark.slow
def test_without_exploiting_ray_members_train_as_in_graph_members_and_play(
    ray_instance, tmp_path, key
):
    """Interval past the run, members at PPO's settings: each Ray member ends with the
    parameters of the in-graph member of its index (float tolerance: one is vmapped), and the
    run loads as a policy with seed index k = the k-th best member."""
    folder, config = _ray_run(tmp_path, "spread", members=2, updates=3, interval=100, init="config")
    result = train_run(folder, config)
    assert result.updates == 3
    in_graph = PBTTrainer(config)
    expected, _ = in_graph.update(in_graph.init(jax.random.key(config.run.seed)), 3)
    saved = _saved_population(folder, config)
    leaves = (saved.train.params, saved.train.opt_state)
    expected_leaves = (expected.train.params, expected.train.opt_state)
    for got, want in zip(jax.tree.leaves(leaves), jax.tree.leaves(expected_leaves), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-4, atol=1e-6)
    np.testing.assert_array_equal(_plain(saved.train.key), _plain(expected.train.key))
    np.testing.assert_array_equal(saved.train.update, [3, 3])
    np.testing.assert_allclose(saved.return_sum, expected.return_sum, rtol=1e-4)
    np.testing.assert_array_equal(saved.return_count, expected.return_count)
    assert [row["update"] for row in _lineage(folder)] == [0, 0]  # no exploit step
    assert (folder.path / "lineage.png").stat().st_size > 0
    assert json.loads(folder.status_path.read_text())["state"] == "finished"

    policies = load_run_policies(tmp_path, "spread", seed_indices=(0, 1))
    order = best_first(np.asarray(saved.fitness))
    for rank, policy in enumerate(policies):
        assert (policy.algorithm, policy.seed_index, policy.num_seeds) == ("pbt", rank, 2)
        member = jax.tree.map(lambda leaf, m=order[rank]: leaf[m], saved.train.params["actor"])
        for played, stored in zip(
            jax.tree.leaves(policy.policy.actor_params), jax.tree.leaves(member), strict=True
        ):
            np.testing.assert_array_equal(played, stored)


def _kill_member_when(ray, folder, member: int, update: int, seen: dict) -> None:
    """Kill `member`'s actor (Ray restarts it) once it has checkpointed `update`."""
    checkpoint = folder.path / MEMBERS_DIR / str(member) / str(update)
    deadline = time.monotonic() + 300
    while not checkpoint.is_dir() and time.monotonic() < deadline:
        time.sleep(0.05)
    handle = ray.get_actor(actor_name(folder.name, member))
    seen["before"] = ray.get(handle.pid.remote())
    ray.kill(handle, no_restart=False)
    for _ in range(600):  # the restarted actor answers once its constructor restored
        try:
            seen["after"] = ray.get(handle.pid.remote())
            return
        except ray.exceptions.RayActorError:
            time.sleep(0.1)


@pytest.mark.slow
def test_a_killed_member_is_restarted_and_the_run_ends_as_uninterrupted(ray_instance, tmp_path):
    """Exploiting on; member 1's actor is killed mid-run: the run finishes, its population and
    lineage equal the uninterrupted run's bitwise, and both made in-graph PBT's decisions."""
    settings = {"members": 2, "updates": 6, "interval": 2}
    reference, config = _ray_run(tmp_path, "reference", **settings)
    train_run(reference, config)
    victim, victim_config = _ray_run(tmp_path, "victim", **settings)
    seen: dict = {}
    killer = threading.Thread(
        target=_kill_member_when, args=(ray_instance, victim, 1, 2, seen), daemon=True
    )
    killer.start()
    result = train_run(victim, victim_config)
    killer.join(timeout=60)
    assert result.updates == 6 and result.stopped_by is None
    assert seen["after"] != seen["before"]  # Ray restarted the member in a new process

    expected, got = _saved_population(reference, config), _saved_population(victim, config)
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(_plain(a), _plain(b))
    lineage = _lineage(reference)
    assert _lineage(victim) == lineage
    copies = [row for row in lineage if row["copied_from"] is not None]
    assert copies, "episodes ended by update 4: one member of two copies the other"

    in_graph = PBTTrainer(config)
    _, metrics = in_graph.update(in_graph.init(jax.random.key(config.run.seed)), 6)
    copied_from = np.asarray(metrics["pbt/copied_from"])
    for row in (row for row in lineage if row["update"] > 0):
        source = copied_from[row["member"], row["update"] - 1]
        assert (row["copied_from"] is None) == (source == row["member"])
        for name, value in row["hyperparameters"].items():
            in_graph_value = np.asarray(metrics[f"pbt/{name}"])[row["member"], row["update"] - 1]
            assert value == pytest.approx(float(in_graph_value), rel=1e-5)
