"""Test helpers for environments: random legal actions, tree comparisons."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.envs.base import Env
from marlax.envs.spaces import Discrete


def random_actions(key: jax.Array, env: Env, state: Any) -> jax.Array:
    """Uniform legal actions for every agent: i32[N] or f32[N, A]."""
    space = env.action_space
    if isinstance(space, Discrete):
        mask = env.action_mask(state)
        logits = jnp.where(mask, 0.0, -jnp.inf)
        return jax.random.categorical(key, logits, axis=-1).astype(jnp.int32)
    return space.sample(key, (env.num_agents,))


def assert_trees_close(a: Any, b: Any, atol: float = 1e-6) -> None:
    """Leafwise equality (allclose for floats, exact otherwise) of two pytrees."""
    leaves_a, tree_a = jax.tree.flatten(a)
    leaves_b, tree_b = jax.tree.flatten(b)
    assert tree_a == tree_b
    for leaf_a, leaf_b in zip(leaves_a, leaves_b, strict=True):
        if jnp.issubdtype(jnp.asarray(leaf_a).dtype, jax.dtypes.prng_key):
            leaf_a, leaf_b = jax.random.key_data(leaf_a), jax.random.key_data(leaf_b)
        leaf_a, leaf_b = np.asarray(leaf_a), np.asarray(leaf_b)
        assert leaf_a.shape == leaf_b.shape
        if np.issubdtype(leaf_a.dtype, np.floating):
            np.testing.assert_allclose(leaf_a, leaf_b, atol=atol, rtol=1e-5)
        else:
            np.testing.assert_array_equal(leaf_a, leaf_b)


def rollout(env: Env, key: jax.Array, num_steps: int) -> tuple[Any, ...]:
    """A jitted random-action rollout; returns stacked (obs, reward, done) over time."""
    reset_key, loop_key = jax.random.split(key)
    obs, state = env.reset(reset_key)

    def _body(carry, step_key):
        state = carry
        action_key, step_key = jax.random.split(step_key)
        actions = random_actions(action_key, env, state)
        obs, state, reward, done, _ = env.step(step_key, state, actions)
        return state, (obs, reward, done)

    _, stacked = jax.lax.scan(_body, state, jax.random.split(loop_key, num_steps))
    return stacked
