"""AutoReset, LogWrapper and VectorEnv on a tiny counting env with known values."""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.envs.base import Env
from marlax.envs.spaces import Box, Discrete
from marlax.envs.wrappers import AutoReset, LogWrapper, VectorEnv
from marlax.errors import ConfigError


@struct.dataclass
class CounterState:
    count: jax.Array  # f32[N] running sum of actions
    start: jax.Array  # f32[] value drawn at reset
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class Counter(Env):
    """Each agent adds its action to a counter; reward = action; episode ends at max_steps."""

    name = "counter"
    num_agents_: int = 2
    max_steps: int = 3

    @property
    def num_agents(self) -> int:
        return self.num_agents_

    @property
    def observation_space(self) -> Box:
        return Box(-1e9, 1e9, (1,))

    @property
    def action_space(self) -> Discrete:
        return Discrete(3)

    def reset(self, key):
        start = jax.random.uniform(key)
        state = CounterState(jnp.full(self.num_agents, start), start, jnp.int32(0))
        return state.count[:, None], state

    def _step(self, key, state, actions):
        count = state.count + actions
        state = CounterState(count, state.start, state.step + 1)
        return count[:, None], state, actions.astype(jnp.float32), jnp.bool_(False), {}

    def render(self, state):
        return jnp.zeros((16, 16, 3), jnp.uint8)


def test_step_truncates_at_max_steps_and_reports_both_flags(key):
    env = Counter()
    _, state = env.reset(key)
    for expected_done in (False, False, True):
        _, state, _, done, info = env.step(key, state, jnp.array([1, 2]))
        assert bool(done) == expected_done
    assert bool(info["truncated"]) and not bool(info["terminated"])


def test_autoreset_returns_new_episode_and_final_obs(key):
    env = AutoReset(Counter())
    _, state = env.reset(key)
    for _ in range(3):
        obs, state, reward, done, info = env.step(key, state, jnp.array([1, 2]))
    assert bool(done)
    assert int(state.step) == 0
    # final_obs is the last obs of the finished episode: start + 3 * action
    start = float(info["final_obs"][0, 0]) - 3.0
    np.testing.assert_allclose(info["final_obs"][:, 0], [start + 3, start + 6], rtol=1e-6)
    np.testing.assert_allclose(obs[:, 0], jnp.full(2, state.start), rtol=1e-6)


def test_log_wrapper_sums_rewards_and_resets_counters(key):
    env = LogWrapper(AutoReset(Counter()))
    _, state = env.reset(key)
    step = jax.jit(env.step)
    for t in range(4):
        _, state, _, done, info = step(jax.random.key(t), state, jnp.array([1, 2]))
        if t == 2:
            assert bool(info["returned_episode"])
            np.testing.assert_allclose(info["returned_episode_return"], [3.0, 6.0])
            assert int(info["returned_episode_length"]) == 3
    np.testing.assert_allclose(state.episode_return, [1.0, 2.0])
    assert int(state.episode_length) == 1


def test_vector_env_matches_vmapped_autoreset_with_full_reset_pool(key):
    env = Counter()
    vector = VectorEnv(env, num_envs=4)
    obs, state = vector.reset(key)
    assert obs.shape == (4, 2, 1)
    actions = jnp.ones((4, 2), jnp.int32)
    for _ in range(3):
        obs, state, reward, done, info = vector.step(key, state, actions)
    assert done.shape == (4,) and bool(done.all())
    np.testing.assert_array_equal(state.step, 0)
    np.testing.assert_allclose(
        info["final_obs"][:, :, 0] - 3.0, jnp.stack([state.start] * 2, 1), atol=1.0
    )


def test_vector_env_optimistic_reset_gives_distinct_episodes_up_to_pool_size(key):
    vector = VectorEnv(Counter(max_steps=1), num_envs=6, num_resets=3)
    _, state = vector.reset(key)
    _, state, _, done, _ = vector.step(jax.random.key(1), state, jnp.zeros((6, 2), jnp.int32))
    assert bool(done.all())
    starts = np.asarray(state.start)
    # finished envs 0..5 take pool entries 0,1,2,0,1,2
    np.testing.assert_array_equal(starts[:3], starts[3:])
    assert len(set(starts[:3].tolist())) == 3


def test_log_wrapper_on_vector_env_has_batch_axes(key):
    env = LogWrapper(VectorEnv(Counter(), num_envs=5))
    _, state = env.reset(key)
    assert state.episode_return.shape == (5, 2) and state.episode_length.shape == (5,)
    for _ in range(3):
        _, state, _, _, info = env.step(key, state, jnp.ones((5, 2), jnp.int32))
    np.testing.assert_allclose(info["returned_episode_return"], np.full((5, 2), 3.0))


def test_vector_env_rejects_bad_sizes():
    with pytest.raises(ConfigError, match="num_envs"):
        VectorEnv(Counter(), num_envs=0)
    with pytest.raises(ConfigError, match="num_resets"):
        VectorEnv(Counter(), num_envs=2, num_resets=3)


def test_wrapper_forwards_attributes():
    env = LogWrapper(AutoReset(Counter(num_agents_=4)))
    assert env.num_agents == 4 and env.action_space == Discrete(3)
    assert isinstance(env.unwrapped, Counter)
