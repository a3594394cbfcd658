"""`to_pettingzoo`: PettingZoo's own API test and step-by-step equality with the marlax env."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from marlax.envs import list_envs, make
from marlax.envs.adapters import pettingzoo as adapter_module
from marlax.envs.adapters.pettingzoo import to_gymnasium_space, to_pettingzoo
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from tests.runs.tiny_grid import TinyGrid

MAX_STEPS = 4
VARIANTS = [
    ("simple_spread", {"continuous_actions": True}, "-continuous"),
    ("grid_return", {"obs_dtype": "uint8"}, "-uint8"),
    ("tiny_grid", {}, ""),
]
CASES = [(name, {}) for name in list_envs()] + [(name, params) for name, params, _ in VARIANTS]
IDS = list(list_envs()) + [name + suffix for name, _, suffix in VARIANTS]


def _make(name: str, params: dict):
    if name == "tiny_grid":
        return TinyGrid(max_steps=MAX_STEPS)
    # no skip on ImportError: the extra is installed in CI, so a broken import must fail
    return make(name, **params, max_steps=MAX_STEPS)


@pytest.fixture(scope="module", params=CASES, ids=IDS)
def env_and_adapter(request):
    """One adapter per env for the module, so its jitted functions compile once."""
    env = _make(*request.param)
    return env, to_pettingzoo(env, seed=0, render_mode="rgb_array")


def test_passes_pettingzoo_parallel_api_test(env_and_adapter):
    _, adapter = env_and_adapter
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # more cycles than max_steps: the episode ends and every agent leaves
        parallel_api_test(adapter, num_cycles=MAX_STEPS + 2)
    messages = [str(warning.message) for warning in caught]
    assert not [message for message in messages if "agent" in message.lower()], messages
    assert adapter.agents == []


def test_adapter_steps_equal_the_marlax_env(env_and_adapter):
    """Same seed -> the adapter replays the marlax episode (documented key schedule)."""
    env, adapter = env_and_adapter
    seed = 3
    obs_dict, infos = adapter.reset(seed=seed)
    key = jax.random.key(seed)
    key, reset_key = jax.random.split(key)
    obs, state = _reference_reset(env, reset_key)
    assert adapter.agents == [f"agent_{index}" for index in range(env.num_agents)]
    _assert_obs_equal(adapter, obs_dict, obs)
    _assert_masks_equal(env, infos, state)
    np.testing.assert_array_equal(adapter.render(), np.asarray(_reference_render(env, state)))
    action_rng = np.random.default_rng(0)
    for _ in range(MAX_STEPS):
        actions = {agent: _sample(adapter, agent, action_rng) for agent in adapter.agents}
        obs_dict, rewards, terminations, truncations, infos = adapter.step(actions)
        stacked = jnp.asarray(np.stack([actions[agent] for agent in adapter.possible_agents]))
        key, step_key = jax.random.split(key)
        obs, state, reward, done, info = _reference_step(env, step_key, state, stacked)
        _assert_obs_equal(adapter, obs_dict, obs)
        _assert_masks_equal(env, infos, state)
        for index, agent in enumerate(adapter.possible_agents):
            assert isinstance(rewards[agent], np.floating)
            np.testing.assert_allclose(rewards[agent], reward[index], rtol=1e-6, atol=1e-6)
            assert terminations[agent] is bool(info["terminated"])
            assert truncations[agent] is bool(info["truncated"])
        if bool(done):
            break
    global_state = np.asarray(adapter_module._jitted_global_state(env, state, obs))
    np.testing.assert_allclose(adapter.state(), global_state, rtol=1e-6, atol=1e-6)
    assert adapter.state().shape == adapter.state_space.shape
    # every env truncates at max_steps at the latest; then all agents are gone
    assert bool(done) and adapter.agents == []


def test_spaces_convert(env_and_adapter):
    env, adapter = env_and_adapter
    for agent in adapter.possible_agents:
        assert adapter.observation_space(agent) is adapter.observation_space(agent)
        space = adapter.action_space(agent)
        if isinstance(env.action_space, Discrete):
            assert space.n == env.action_space.n
        else:
            assert space.shape == env.action_space.shape
    assert adapter.observation_space("agent_0").shape == env.observation_space.shape
    assert adapter.observation_space("agent_0").dtype == np.dtype(env.observation_space.dtype)


def test_box_space_conversion_clips_integer_infinities():
    space = to_gymnasium_space(Box(0, float("inf"), (2, 3), "int32"))
    assert space.shape == (2, 3) and space.dtype == np.int32
    assert int(space.high.max()) == np.iinfo(np.int32).max and int(space.low.min()) == 0
    assert to_gymnasium_space(Discrete(7)).n == 7


def test_same_seed_same_episode_and_masks_are_int8():
    adapter = to_pettingzoo(TinyGrid(max_steps=MAX_STEPS), seed=11)
    first, infos = adapter.reset()
    again, _ = adapter.reset(seed=11)
    for agent in adapter.possible_agents:
        np.testing.assert_array_equal(first[agent], again[agent])
        mask = infos[agent]["action_mask"]
        # TinyGrid makes attack (5) illegal
        assert mask.dtype == np.int8 and mask.tolist() == [1, 1, 1, 1, 1, 0, 1]
    other, _ = adapter.reset(seed=12)
    assert any(not np.array_equal(first[a], other[a]) for a in adapter.possible_agents)


def test_bad_inputs_are_config_errors():
    env = TinyGrid(max_steps=MAX_STEPS)
    with pytest.raises(ConfigError, match="render_mode"):
        to_pettingzoo(env, render_mode="human")
    with pytest.raises(ConfigError, match="seed"):
        to_pettingzoo(env, seed="zero")
    adapter = to_pettingzoo(env, seed=0)
    adapter.reset()
    with pytest.raises(ConfigError, match="actions"):
        adapter.step({"agent_0": 4})
    with pytest.warns(UserWarning, match="render_mode"):
        assert adapter.render() is None


def _reference_reset(env, key):
    return adapter_module._jitted_reset_and_mask(env, key)[:2]


def _reference_step(env, key, state, actions):
    """`env.step`, compiled once: the adapter's cached jit of it (checked on TinyGrid below)."""
    obs, state, reward, done, terminated, truncated, _ = adapter_module._jitted_step_and_mask(
        env, key, state, actions
    )
    return obs, state, reward, done, {"terminated": terminated, "truncated": truncated}


def _reference_render(env, state):
    return adapter_module._jitted_render(env, state)


def test_cached_jits_equal_the_plain_env(key):
    """The compiled helpers that the registry-wide test reuses equal eager env calls."""
    env = TinyGrid(max_steps=MAX_STEPS)
    obs, state, mask = adapter_module._jitted_reset_and_mask(env, key)
    eager_obs, eager_state = env.reset(key)
    np.testing.assert_array_equal(obs, eager_obs)
    np.testing.assert_array_equal(mask, env.action_mask(eager_state))
    actions = jnp.array([1, 6], jnp.int32)
    step_key = jax.random.key(5)
    jitted = adapter_module._jitted_step_and_mask(env, step_key, state, actions)
    eager = env.step(step_key, eager_state, actions)
    for jitted_leaf, eager_leaf in zip(jitted[:4], eager[:4], strict=True):
        for a, b in zip(jax.tree.leaves(jitted_leaf), jax.tree.leaves(eager_leaf), strict=True):
            np.testing.assert_array_equal(a, b)
    assert bool(jitted[4]) == bool(eager[4]["terminated"])
    assert bool(jitted[5]) == bool(eager[4]["truncated"])
    np.testing.assert_array_equal(adapter_module._jitted_render(env, state), env.render(state))


def _sample(adapter, agent: str, rng: np.random.Generator):
    space = adapter.action_space(agent)
    space.seed(int(rng.integers(2**31)))
    return space.sample()


def _assert_obs_equal(adapter, obs_dict: dict, obs: jax.Array) -> None:
    assert set(obs_dict) == set(adapter.possible_agents)
    for index, agent in enumerate(adapter.possible_agents):
        assert adapter.observation_space(agent).contains(obs_dict[agent])
        np.testing.assert_allclose(obs_dict[agent], np.asarray(obs[index]), rtol=1e-6, atol=1e-6)


def _assert_masks_equal(env, infos: dict, state) -> None:
    if not isinstance(env.action_space, Discrete):
        assert all("action_mask" not in info for info in infos.values())
        return
    mask = np.asarray(env.action_mask(state)).astype(np.int8)
    for index, info in enumerate(infos.values()):
        np.testing.assert_array_equal(info["action_mask"], mask[index])
