"""The TaskFamily contract, checked on every task family: tasks, task_of, reveal_task."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.meta import is_task_family
from tests.envs.helpers import assert_trees_close, random_actions

FAMILIES = ["navigation_2d", "velocity_point", "bandit_k", "spread_family"]


@pytest.fixture(params=FAMILIES)
def name(request) -> str:
    return request.param


def test_registered_families_are_task_families(name):
    assert is_task_family(make(name))
    assert not is_task_family(make("simple_spread"))


def test_sample_task_under_vmap_gives_a_batch_of_distinct_tasks(name, key):
    env = make(name)
    single = env.sample_task(key)
    batch = jax.vmap(env.sample_task)(jax.random.split(key, 8))
    for one, many in zip(jax.tree.leaves(single), jax.tree.leaves(batch), strict=True):
        assert many.shape == (8, *one.shape) and many.dtype == jnp.float32
        assert len(np.unique(np.asarray(many).reshape(8, -1), axis=0)) == 8
    features = jax.vmap(env.task_features)(batch)
    assert features.shape == (8, env.task_size) and features.dtype == jnp.float32


def test_task_of_returns_the_task_and_it_survives_steps(name, key):
    env = make(name)
    task = env.sample_task(jax.random.key(3))
    _, state = env.reset_to_task(key, task)
    assert_trees_close(env.task_of(state), task)
    step = jax.jit(env.step)
    for step_index in range(3):
        actions = random_actions(jax.random.key(step_index), env, state)
        _, state, *_ = step(jax.random.key(10 + step_index), state, actions)
    assert_trees_close(env.task_of(state), task)


def test_reset_to_task_jit_equals_no_jit(name, key):
    env = make(name)
    task = env.sample_task(jax.random.key(5))
    assert_trees_close(jax.jit(env.reset_to_task)(key, task), env.reset_to_task(key, task))


def test_reset_is_reset_to_a_fresh_task(name, key):
    env = make(name)
    task_key, episode_key = jax.random.split(key)
    expected = env.reset_to_task(episode_key, env.sample_task(task_key))
    assert_trees_close(env.reset(key), expected)


def test_reset_to_task_vmaps_over_tasks(name, key):
    env = make(name)
    tasks = jax.vmap(env.sample_task)(jax.random.split(jax.random.key(1), 3))
    keys = jax.random.split(key, 3)
    batch = jax.vmap(env.reset_to_task)(keys, tasks)
    for index in range(3):
        task = jax.tree.map(lambda leaf, index=index: leaf[index], tasks)
        single = env.reset_to_task(keys[index], task)
        assert_trees_close(single, jax.tree.map(lambda leaf, index=index: leaf[index], batch))


def test_reveal_task_appends_the_task_features(name, key):
    """The oracle's observation is the plain one plus the task (agent 0 sees it unpermuted)."""
    plain, oracle = make(name), make(name, reveal_task=True)
    task = plain.sample_task(jax.random.key(2))
    plain_obs, _ = plain.reset_to_task(key, task)
    oracle_obs, state = oracle.reset_to_task(key, task)
    size = plain.task_size
    assert oracle.observation_space.shape == (plain.observation_space.shape[0] + size,)
    np.testing.assert_array_equal(oracle_obs[:, :-size], plain_obs)
    np.testing.assert_allclose(oracle_obs[0, -size:], plain.task_features(task))
    actions = random_actions(jax.random.key(4), oracle, state)
    oracle_obs, *_ = oracle.step(jax.random.key(6), state, actions)
    np.testing.assert_allclose(oracle_obs[0, -size:], plain.task_features(task))
