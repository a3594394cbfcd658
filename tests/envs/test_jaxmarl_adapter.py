"""from_jaxmarl: JaxMARL envs behind the marlax API, checked against JaxMARL's own outputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.simple_spread import SimpleSpread
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close, random_actions

jaxmarl = pytest.importorskip("jaxmarl")
# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [pytest.mark.jaxmarl, pytest.mark.xdist_group("envs.test_jaxmarl_adapter")]

from marlax.envs.adapters import from_jaxmarl  # noqa: E402


@pytest.fixture(scope="module")
def spread():
    return from_jaxmarl("MPE_simple_spread_v3")


@pytest.fixture(scope="module")
def smax():
    return from_jaxmarl("HeuristicEnemySMAX", scenario="3s_vs_5z", max_steps=6)


@pytest.fixture(scope="module")
def spread_step(spread):
    """One jitted step shared by the tests (compiling SMAX/MPE steps dominates test time)."""
    return jax.jit(spread.step)


@pytest.fixture(scope="module")
def smax_step(smax):
    return jax.jit(smax.step)


@pytest.fixture(scope="module")
def smax_reset(smax):
    return jax.jit(smax.reset)


@pytest.fixture(scope="module")
def smax_actions(smax):
    """Jitted `random_actions` for one SMAX state (op by op it was seconds per call)."""
    return jax.jit(lambda action_key, state: random_actions(action_key, smax, state))


def test_simple_spread_equals_jaxmarl_step_env(spread, spread_step, key):
    reference = jaxmarl.make("MPE_simple_spread_v3")
    with jax.numpy_rank_promotion("allow"):  # JaxMARL's code relies on rank promotion
        ref_obs, ref_state = reference.reset(key)
    obs, state = jax.jit(spread.reset)(key)
    np.testing.assert_array_equal(obs, jnp.stack([ref_obs[a] for a in reference.agents]))
    step = spread_step
    for step_index in range(4):
        actions = jax.random.randint(jax.random.key(step_index), (3,), 0, 5)
        step_key = jax.random.key(100 + step_index)
        with jax.numpy_rank_promotion("allow"):
            ref_obs, ref_state, ref_reward, ref_dones, _ = reference.step_env(
                step_key, ref_state, {a: actions[i] for i, a in enumerate(reference.agents)}
            )
        obs, state, reward, done, info = step(step_key, state, actions)
        np.testing.assert_allclose(
            obs, jnp.stack([ref_obs[a] for a in reference.agents]), atol=1e-6
        )
        np.testing.assert_allclose(
            reward, jnp.stack([ref_reward[a] for a in reference.agents]), atol=1e-6
        )
        assert bool(done) == bool(ref_dones["__all__"]) is False
        assert_trees_close(state.env_state, ref_state)
        assert int(state.step) == step_index + 1


def test_simple_spread_adapter_equals_native_env(spread, spread_step, key):
    """JaxMARL and marlax draw the start state the same way and share the mpe2 dynamics."""
    native = SimpleSpread()
    native_step = jax.jit(native.step)
    obs, state = spread.reset(key)
    native_obs, native_state = native.reset(key)
    np.testing.assert_allclose(obs, native_obs, atol=1e-6)
    for step_index in range(5):
        actions = jax.random.randint(jax.random.key(step_index), (3,), 0, 5)
        obs, state, reward, *_ = spread_step(key, state, actions)
        native_obs, native_state, native_reward, *_ = native_step(key, native_state, actions)
        np.testing.assert_allclose(obs, native_obs, atol=1e-5)
        np.testing.assert_allclose(reward, native_reward, atol=1e-5)


def test_simple_spread_truncates_at_25_steps(spread, spread_step, key):
    _, state = spread.reset(key)
    step = spread_step
    for step_index in range(25):
        _, state, _, done, info = step(key, state, jnp.zeros(3, jnp.int32))
        assert bool(done) == (step_index == 24)
    assert bool(info["truncated"]) and not bool(info["terminated"])


def test_smax_reset_step_jit_and_vmap(smax, smax_step, smax_actions, key):
    assert smax.num_agents == 3 and smax.observation_space.shape == (101,)
    keys = jax.random.split(key, 2)
    obs, state = jax.jit(jax.vmap(smax.reset))(keys)
    assert obs.shape == (2, 3, 101) and smax.observation_space.contains(obs)
    masks = jax.jit(jax.vmap(smax.action_mask))(state)
    assert masks.shape == (2, 3, 10) and masks.dtype == jnp.bool_
    assert bool(jnp.all(masks.any(axis=-1)))
    actions = jax.jit(jax.vmap(smax_actions))(keys, state)
    assert smax.action_space.contains(actions)
    assert bool(jnp.all(jnp.take_along_axis(masks, actions[..., None], axis=-1)))
    batched = jax.jit(jax.vmap(smax.step))(keys, state, actions)
    for index in range(2):
        single_state = jax.tree.map(lambda x, i=index: x[i], state)
        single = smax_step(keys[index], single_state, actions[index])
        assert_trees_close(single, jax.tree.map(lambda x, i=index: x[i], batched), atol=1e-5)
    obs, _, reward, done, info = batched
    assert smax.observation_space.contains(obs) and reward.shape == (2, 3)
    assert reward.dtype == jnp.float32 and done.shape == (2,)


def test_smax_episode_is_truncated_at_max_steps(smax_reset, smax_step, smax_actions, key):
    obs, state = smax_reset(key)
    step = smax_step
    for step_index in range(6):
        actions = smax_actions(jax.random.key(step_index), state)
        obs, state, reward, done, info = step(jax.random.key(step_index), state, actions)
        assert bool(done) == (step_index == 5)
    assert bool(info["truncated"]) and not bool(info["terminated"])
    assert int(state.step) == 6 and int(state.env_state.state.step) == 6


def test_smax_win_is_a_termination(smax_reset, smax_step, smax_actions, key):
    _, state = smax_reset(key)
    inner = state.env_state.state
    # every enemy (units 3..7) at zero health: the allies win on the next step
    health = inner.unit_health.at[3:].set(0.0)
    state = state.replace(
        env_state=state.env_state.replace(state=inner.replace(unit_health=health))
    )
    actions = smax_actions(jax.random.key(0), state)
    _, state, reward, done, info = smax_step(key, state, actions)
    assert bool(done) and bool(info["terminated"]) and not bool(info["truncated"])
    assert bool(jnp.all(reward > 0)), "winning must be rewarded"


def test_smax_global_state_and_render(smax, smax_reset, key):
    obs, state = smax_reset(key)
    global_state = smax.global_state(state, obs)
    with jax.numpy_rank_promotion("allow"):
        expected = smax.jaxmarl_env.get_world_state(state.env_state)
    np.testing.assert_array_equal(global_state, expected.reshape(-1))
    image = jax.jit(smax.render)(state)
    assert image.shape == (256, 256, 3) and image.dtype == jnp.uint8
    # allies start on the left quarter, enemies on the right: blue left, red right
    blue = np.all(np.asarray(image) == [60, 90, 220], axis=-1)
    red = np.all(np.asarray(image) == [220, 60, 60], axis=-1)
    assert blue.any() and red.any()
    assert np.nonzero(blue)[1].max() < 128 <= np.nonzero(red)[1].min()


def test_heterogeneous_observations_are_zero_padded(key):
    env = from_jaxmarl("MPE_simple_adversary_v3")
    reference = env.jaxmarl_env
    with jax.numpy_rank_promotion("allow"):
        ref_obs, _ = reference.reset(key)
    obs, _ = env.reset(key)
    assert len(set(env.observation_sizes)) > 1 and env.obs_shape == (max(env.observation_sizes),)
    for index, name in enumerate(env.agent_names):
        size = env.observation_sizes[index]
        np.testing.assert_array_equal(obs[index, :size], ref_obs[name])
        assert bool(jnp.all(obs[index, size:] == 0))


def test_heterogeneous_action_counts_are_masked(key):
    env = from_jaxmarl("MPE_simple_speaker_listener_v4")
    _, state = env.reset(key)
    mask = env.action_mask(state)
    np.testing.assert_array_equal(mask.sum(axis=1), env.action_sizes)
    assert env.action_space.n == max(env.action_sizes) > min(env.action_sizes)


def test_render_without_positions_draws_reward_bars(spread, key):
    from marlax.envs.adapters.jaxmarl import _render_reward_bars

    image = np.asarray(_render_reward_bars(jnp.array([1.0, -1.0])))
    # agent 0's bar rises above the axis on the left, agent 1's falls below on the right
    np.testing.assert_array_equal(image[100, 64], [40, 170, 60])
    np.testing.assert_array_equal(image[160, 192], [210, 50, 50])
    np.testing.assert_array_equal(image[100, 192], [255, 255, 255])


def test_equality_and_hash_follow_name_and_settings(spread):
    again = from_jaxmarl("MPE_simple_spread_v3")
    assert again == spread and hash(again) == hash(spread)
    assert again.jaxmarl_env is not spread.jaxmarl_env
    assert from_jaxmarl("MPE_simple_spread_v3", max_steps=10) != spread


def test_bad_names_and_settings_are_config_errors():
    with pytest.raises(ConfigError, match="name"):
        from_jaxmarl("MPE_simple_sprad_v3")
    with pytest.raises(ConfigError, match="scenario"):
        from_jaxmarl("HeuristicEnemySMAX", scenario="3s_vs_99z")
    with pytest.raises(ConfigError, match="HeuristicEnemySMAX"):
        from_jaxmarl("HeuristicEnemySMAX", not_a_setting=1)
