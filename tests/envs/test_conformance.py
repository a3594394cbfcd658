"""One conformance suite for every registered environment (jumanji/gymnax style)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import AutoReset, LogWrapper, VectorEnv, list_envs, make
from marlax.envs.spaces import Discrete
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close, random_actions, rollout

VARIANTS = [
    ("simple_spread", {"continuous_actions": True}, "-continuous"),
    ("grid_return", {"obs_dtype": "uint8"}, "-uint8"),
]
CASES = [(name, {}) for name in list_envs()] + [(name, params) for name, params, _ in VARIANTS]
IDS = list(list_envs()) + [name + suffix for name, _, suffix in VARIANTS]


@pytest.fixture(params=CASES, ids=IDS)
def env(request):
    name, params = request.param
    return make(name, **params)


def test_reset_outputs_lie_in_spaces(env, key):
    obs, state = jax.jit(env.reset)(key)
    assert obs.shape == (env.num_agents, *env.observation_space.shape)
    assert obs.dtype == np.dtype(env.observation_space.dtype)
    assert env.observation_space.contains(obs)
    assert int(state.step) == 0


def test_step_outputs_have_api_shapes(env, key):
    obs, state = env.reset(key)
    actions = random_actions(jax.random.key(1), env, state)
    assert env.action_space.contains(actions)
    obs, state, reward, done, info = jax.jit(env.step)(jax.random.key(2), state, actions)
    assert obs.shape == (env.num_agents, *env.observation_space.shape)
    assert env.observation_space.contains(obs)
    assert reward.shape == (env.num_agents,) and reward.dtype == jnp.float32
    assert done.shape == () and done.dtype == jnp.bool_
    assert info["terminated"].shape == () and info["truncated"].shape == ()
    assert int(state.step) == 1
    assert all(
        bool(jnp.all(jnp.isfinite(leaf)))
        for leaf in jax.tree.leaves(state)
        if jnp.issubdtype(leaf.dtype, jnp.floating)
    )


def test_step_keeps_state_types(env, key):
    """reset and step give states of identical shapes, dtypes and weak types, so a jitted
    training loop does not compile twice (a weak-typed reset leaf once cost a full retrace)."""
    reset_state = jax.eval_shape(env.reset, key)[1]
    actions = jax.eval_shape(lambda: random_actions(jax.random.key(1), env, env.reset(key)[1]))
    step_state = jax.eval_shape(env.step, key, reset_state, actions)[1]
    assert jax.tree.structure(reset_state) == jax.tree.structure(step_state)
    for before, after in zip(
        jax.tree.leaves(reset_state), jax.tree.leaves(step_state), strict=True
    ):
        assert (before.shape, before.dtype, before.weak_type) == (
            after.shape,
            after.dtype,
            after.weak_type,
        )


def test_jit_equals_no_jit(env, key):
    obs, state = env.reset(key)
    jit_obs, jit_state = jax.jit(env.reset)(key)
    assert_trees_close((obs, state), (jit_obs, jit_state))
    for step_index in range(3):
        actions = random_actions(jax.random.key(10 + step_index), env, state)
        step_key = jax.random.key(20 + step_index)
        eager = env.step(step_key, state, actions)
        jitted = jax.jit(env.step)(step_key, state, actions)
        assert_trees_close(eager, jitted, atol=1e-5)
        state = eager[1]


def test_vmap_equals_loop(env, key):
    keys = jax.random.split(key, 3)
    batch_obs, batch_state = jax.vmap(env.reset)(keys)
    actions = jnp.stack(
        [
            random_actions(jax.random.key(i), env, jax.tree.map(lambda x, i=i: x[i], batch_state))
            for i in range(3)
        ]
    )
    step_keys = jax.random.split(jax.random.key(7), 3)
    batched = jax.jit(jax.vmap(env.step))(step_keys, batch_state, actions)
    # the loop runs one jitted step per copy (jit == no-jit is test_jit_equals_no_jit's claim;
    # op by op these three steps took ~19 s per grid world in CI)
    reset, step = jax.jit(env.reset), jax.jit(env.step)
    for i in range(3):
        obs, state = reset(keys[i])
        assert_trees_close(obs, batch_obs[i])
        single = step(step_keys[i], state, actions[i])
        assert_trees_close(single, jax.tree.map(lambda x, i=i: x[i], batched), atol=1e-5)


def test_same_key_same_episode(env, key):
    first = rollout(env, key, 8)
    second = rollout(env, key, 8)
    assert_trees_close(first, second)
    other = rollout(env, jax.random.key(123), 8)
    leaves_differ = [
        not np.array_equal(np.asarray(a), np.asarray(b))
        for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(other), strict=True)
    ]
    assert any(leaves_differ), "different keys gave identical episodes"


def test_auto_reset_at_time_limit(env, key):
    name = type(env).name
    wrapped = AutoReset(make(name, **{**_params_of(env), "max_steps": 3}))
    obs, state = wrapped.reset(key)
    step = jax.jit(wrapped.step)
    for step_index in range(3):
        actions = random_actions(jax.random.key(step_index), wrapped, state)
        obs, state, reward, done, info = step(jax.random.key(50 + step_index), state, actions)
    assert bool(done) and bool(info["truncated"] | info["terminated"])
    assert int(state.step) == 0, "auto-reset did not start a new episode"
    assert info["final_obs"].shape == obs.shape


def test_log_wrapper_reports_episode_return(env, key):
    wrapped = LogWrapper(AutoReset(make(type(env).name, **{**_params_of(env), "max_steps": 4})))
    obs, state = wrapped.reset(key)
    total = jnp.zeros(wrapped.num_agents)
    step = jax.jit(wrapped.step)  # op by op, 4 grid-world steps took ~19 s on 2 cores
    for step_index in range(4):
        actions = random_actions(jax.random.key(step_index), wrapped.unwrapped, state.env_state)
        obs, state, reward, done, info = step(jax.random.key(9 + step_index), state, actions)
        total = total + reward
    assert bool(info["returned_episode"])
    np.testing.assert_allclose(info["returned_episode_return"], total, rtol=1e-5, atol=1e-5)
    assert int(info["returned_episode_length"]) == 4


def test_action_mask_shape_and_legality(env, key):
    _, state = env.reset(key)
    if not isinstance(env.action_space, Discrete):
        pytest.skip("continuous actions have no mask")
    mask = env.action_mask(state)
    assert mask.shape == (env.num_agents, env.action_space.n) and mask.dtype == jnp.bool_
    assert bool(jnp.all(mask.any(axis=-1))), "every agent needs a legal action"


def test_render_is_rgb_image(env, key):
    _, state = env.reset(key)
    image = jax.jit(env.render)(state)
    assert image.dtype == jnp.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[0] % 16 == 0 and image.shape[1] % 16 == 0
    assert int(image.max()) > int(image.min()), "blank picture"


def test_global_state_is_flat_float(env, key):
    obs, state = env.reset(key)
    global_state = env.global_state(state, obs)
    assert global_state.ndim == 1 and global_state.dtype == jnp.float32


def _step_vector_env(env, key, num_envs: int) -> None:
    vector = VectorEnv(env, num_envs=num_envs, num_resets=min(num_envs, 256))
    obs, state = jax.jit(vector.reset)(key)
    assert obs.shape == (num_envs, env.num_agents, *env.observation_space.shape)
    keys = jax.random.split(key, num_envs)
    actions = jax.vmap(lambda k, s: random_actions(k, env, s))(keys, state)
    obs, state, reward, done, _ = jax.jit(vector.step)(jax.random.key(3), state, actions)
    assert reward.shape == (num_envs, env.num_agents) and done.shape == (num_envs,)
    assert bool(jnp.all(jnp.isfinite(reward)))


def test_vector_env_steps_64_envs(env, key):
    _step_vector_env(env, key, 64)


@pytest.mark.slow
def test_vector_env_steps_4096_envs(env, key):
    # 20-25 s per grid world on 2 CPU cores (512 copies: 5-25 s per env, ~4 min over the
    # registry): the fast tier steps 64 copies instead.
    _step_vector_env(env, key, 4096)


def test_unknown_setting_is_a_config_error(env):
    with pytest.raises(ConfigError, match="not_a_setting"):
        make(type(env).name, not_a_setting=1)


def test_negative_max_steps_is_a_config_error(env):
    with pytest.raises(ConfigError, match="max_steps"):
        make(type(env).name, **{**_params_of(env), "max_steps": -1})


def _params_of(env) -> dict:
    """The non-default settings an env was built with."""
    import dataclasses

    return {
        field.name: getattr(env, field.name)
        for field in dataclasses.fields(env)
        if field.init and getattr(env, field.name) != field.default
    }
