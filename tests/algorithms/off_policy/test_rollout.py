"""Rollouts run on across updates, and a time limit stores the true final observation."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.off_policy.rollout import Exploration, collect, reset_envs
from tests.algorithms.off_policy.helpers import tiny_setup


def test_two_collections_continue_one_episode_and_store_the_final_observation():
    """max_steps 6, 4 steps per collection: the episode ends at the second collection's second
    step. next_obs is the following obs inside an episode, and at the time limit it is the obs
    the env stepped into (replayed here without any reset), not the new episode's first."""
    setup = tiny_setup("maddpg", num_envs=2)
    env, networks = setup.env, setup.networks
    params = networks.init(jax.random.key(0))
    exploration = Exploration(jnp.bool_(True), jnp.float32(0.0))
    obs, log_state = reset_envs(jax.random.key(1), setup)
    first_state = log_state.env_state
    run = jax.jit(partial(collect, setup=setup, exploration=exploration, params=params))
    obs_1, log_state, first, _ = run(jax.random.key(2), obs=obs, log_state=log_state)
    obs_2, _, second, stats = run(jax.random.key(3), obs=obs_1, log_state=log_state)
    steps = jax.tree.map(
        lambda a, b: jnp.concatenate(
            [a.reshape(4, 2, *a.shape[1:]), b.reshape(4, 2, *b.shape[1:])]
        ),
        first,
        second,
    )  # [8, B, ...] time-major
    np.testing.assert_array_equal(steps.obs[0], obs)
    np.testing.assert_array_equal(steps.obs[4], obs_1)  # the second collection goes on
    np.testing.assert_array_equal(steps.next_obs[:5], steps.obs[1:6])
    assert not np.asarray(steps.terminated).any()
    np.testing.assert_array_equal(stats.finished[1], [True, True])

    state = first_state
    for t in range(6):
        replayed, state, reward, done, _ = jax.vmap(env.step)(
            jax.random.split(jax.random.key(9), 2), state, networks.to_env(steps.actions[t])
        )
        np.testing.assert_allclose(steps.reward[t], reward, rtol=1e-5, atol=1e-5)
    assert bool(done.all())
    np.testing.assert_allclose(steps.next_obs[5], replayed, rtol=1e-5, atol=1e-5)
    assert not np.allclose(steps.next_obs[5], steps.obs[6])  # obs[6] starts a new episode
    assert np.abs(np.asarray(steps.actions)).max() <= 1.0
    assert obs_2.shape == obs.shape
