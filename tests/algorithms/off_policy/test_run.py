"""Runs through the shared host loop: exact resume from a checkpoint (replay and envs
included), and a trained run's actors loaded as deterministic policies for enjoy / eval.

Both compile a trainer twice (about a minute each on two shared cores), hence `slow`; the
policy's behaviour on fresh parameters is in the fast tier (`test_policy.py`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

from marlax.algorithms.off_policy.loop import train_run
from marlax.algorithms.off_policy.policy import (
    actor_policy,
    load_off_policy_policies,
    restore_off_policy_run,
)
from marlax.algorithms.trained import PolicyRequest
from marlax.config.schema import RunConfig
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics
from tests.algorithms.off_policy.helpers import RunSettings, tiny_off_policy


def _leaves(state) -> list:
    leaves = jax.tree.leaves(state)
    return [
        jax.random.key_data(leaf) if jax.numpy.issubdtype(leaf.dtype, jax.dtypes.prng_key) else leaf
        for leaf in leaves
    ]


@pytest.mark.slow
def test_a_run_resumed_from_its_middle_checkpoint_ends_exactly_like_the_whole_run(tmp_path):
    runs_dir = tmp_path / "runs"
    run = RunConfig(log_every=2, checkpoint_every=4, runs_dir=str(runs_dir))
    config = RunSettings("maddpg", tiny_off_policy(), run)
    reference = RunFolder.create(runs_dir, "reference", {"algorithm": "maddpg"})
    result = train_run(reference, config)
    assert result.updates == 8

    shutil.copytree(runs_dir / "reference", runs_dir / "victim")
    shutil.rmtree(runs_dir / "victim" / "checkpoints" / "8")
    victim = RunFolder.open(runs_dir, "victim")
    train_run(victim, config)
    restored = restore_off_policy_run(victim, config, None)
    expected = restore_off_policy_run(reference, config, None)
    assert restored.update == expected.update == 8
    for got, want in zip(_leaves(restored.state), _leaves(expected.state), strict=True):
        np.testing.assert_array_equal(got, want)
    rows = read_metrics(victim.metrics_path)
    assert [row["update"] for row in rows] == list(range(1, 9))
    assert victim.read_status()["state"] == "finished"


@pytest.mark.slow
def test_the_trained_actor_plays_deterministically_in_the_action_box(tmp_path: Path):
    runs_dir = tmp_path / "runs"
    run = RunConfig(num_seeds=2, log_every=4, checkpoint_every=4, runs_dir=str(runs_dir))
    config = RunSettings("sac", tiny_off_policy(), run)
    folder = RunFolder.create(runs_dir, "sac-run", {"algorithm": "sac"})
    train_run(folder, config)
    loaded = load_off_policy_policies(folder, config, PolicyRequest(seed_indices=None))
    assert [one.seed_index for one in loaded] == [0, 1]
    assert loaded[0].algorithm == "sac" and loaded[0].update == 8
    trained = restore_off_policy_run(folder, config, None)
    policy = actor_policy(trained, 1)
    env = loaded[1].env
    obs, state = env.reset(jax.random.key(0))
    actions, memory = policy.act(jax.random.key(1), obs, state, policy.initial_memory(), True)
    again, _ = policy.act(jax.random.key(2), obs, state, memory, False)
    np.testing.assert_array_equal(actions, again)  # deterministic: the key does not matter
    networks = trained.trainer.setup.networks
    actor = jax.tree.map(lambda leaf: leaf[1], trained.state.params["actor"])
    mean, _ = networks.actor_output(actor, obs)
    np.testing.assert_allclose(actions, networks.to_env(jax.numpy.tanh(mean)), rtol=1e-6)
    assert actions.shape == (env.num_agents, 5)
    assert env.action_space.contains(np.asarray(actions))
    sampling = actor_policy(trained, 1, sample=True)
    drawn, _ = sampling.act(jax.random.key(1), obs, state, (), True)
    drawn_again, _ = sampling.act(jax.random.key(2), obs, state, (), True)
    assert not np.allclose(drawn, drawn_again)
    with pytest.raises(Exception, match="seed_index"):
        actor_policy(trained, 2)
