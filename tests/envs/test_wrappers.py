"""AutoReset, VectorEnv (with and without its reset pool) and LogWrapper on a tiny counting env.

The counting env's values are known by hand: a reset draws `start` (a float) and an
`episode_id` (64 random bits) from its key; each step adds the action to every agent's
count. With `end_prob > 0` an episode also ends at random, so envs finish at different
steps and the reset pool sees both a few and many finishing envs.
"""

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
from tests.envs.helpers import assert_trees_close


@struct.dataclass
class CounterState:
    count: jax.Array  # f32[N] start + the sum of this episode's actions
    start: jax.Array  # f32[] value drawn at reset
    episode_id: jax.Array  # u32[2] random bits drawn at reset: tells episodes apart
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class Counter(Env):
    """Each agent adds its action to a counter; reward = action; ends at max_steps or at random."""

    name = "counter"
    num_agents_: int = 2
    max_steps: int = 3
    end_prob: float = 0.0

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
        start_key, id_key = jax.random.split(key)
        start = jax.random.uniform(start_key)
        episode_id = jax.random.bits(id_key, (2,), jnp.uint32)
        state = CounterState(jnp.full(self.num_agents, start), start, episode_id, jnp.int32(0))
        return state.count[:, None], state

    def _step(self, key, state, actions):
        count = state.count + actions
        state = CounterState(count, state.start, state.episode_id, state.step + 1)
        terminated = jax.random.uniform(key) < self.end_prob
        return count[:, None], state, actions.astype(jnp.float32), terminated, {}

    def render(self, state):
        return jnp.zeros((16, 16, 3), jnp.uint8)


def _vector_rollout(env, key: jax.Array, num_steps: int):
    """Jitted scan of `env.step` (a batched env) with actions [1, 2] everywhere.

    Returns:
        The start state and the stacked (obs, state, done, info) of every step.
    """
    reset_key, loop_key = jax.random.split(key)
    _, start = env.reset(reset_key)

    def _body(state, step_key):
        """Carries the state; stacks obs, state, done, info of the step."""
        actions = jnp.broadcast_to(jnp.array([1, 2]), (env.num_envs, 2))
        obs, state, _, done, info = env.step(step_key, state, actions)
        return state, (obs, state, done, info)

    step_keys = jax.random.split(loop_key, num_steps)
    _, stacked = jax.jit(lambda: jax.lax.scan(_body, start, step_keys))()
    return start, stacked


def test_step_truncates_at_max_steps_and_reports_both_flags(key):
    env = Counter()
    _, state = env.reset(key)
    for expected_done in (False, False, True):
        _, state, _, done, info = env.step(key, state, jnp.array([1, 2]))
        assert bool(done) == expected_done
    assert bool(info["truncated"]) and not bool(info["terminated"])


def test_autoreset_gives_final_obs_final_state_and_the_episode_of_its_reset_key(key):
    env = Counter()
    wrapped = AutoReset(env)
    _, state = wrapped.reset(key)
    start = float(jax.random.uniform(jax.random.split(key)[0]))
    step_keys = jax.random.split(jax.random.key(7), 3)
    for step_key in step_keys:
        obs, state, reward, done, info = wrapped.step(step_key, state, jnp.array([1, 2]))
    assert bool(done)
    expected_final = np.float32(start) + np.float32([3.0, 6.0])
    np.testing.assert_allclose(info["final_obs"][:, 0], expected_final, rtol=1e-6)
    np.testing.assert_allclose(info["final_state"].count, expected_final, rtol=1e-6)
    assert int(info["final_state"].step) == 3 and float(info["final_state"].start) == start
    # the new episode is exactly env.reset(the reset half of the last step's key)
    expected_obs, expected_state = env.reset(jax.random.split(step_keys[-1])[1])
    assert_trees_close((obs, state), (expected_obs, expected_state), atol=0.0)
    np.testing.assert_array_equal(reward, [1.0, 2.0])


def test_autoreset_keeps_the_stepped_state_while_the_episode_runs(key):
    wrapped = AutoReset(Counter())
    _, state = wrapped.reset(key)
    obs, next_state, _, done, info = jax.jit(wrapped.step)(key, state, jnp.array([2, 0]))
    assert not bool(done)
    assert_trees_close(next_state, info["final_state"], atol=0.0)
    np.testing.assert_array_equal(obs, info["final_obs"])
    np.testing.assert_array_equal(next_state.count, state.count + jnp.array([2.0, 0.0]))
    np.testing.assert_array_equal(next_state.episode_id, state.episode_id)


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


@pytest.mark.parametrize("num_resets", [None, 3, 16])
def test_vector_env_equals_vmapped_autoreset(num_resets):
    """Pool or not, a VectorEnv step is vmap(AutoReset.step) over the split key, exactly."""
    env = Counter(max_steps=6, end_prob=0.2)
    vector = VectorEnv(env, num_envs=16, num_resets=num_resets)
    key = jax.random.key(1)
    _, state = vector.reset(key)
    autoreset_step = jax.jit(jax.vmap(AutoReset(env).step))
    vector_step = jax.jit(vector.step)
    actions = jnp.ones((16, 2), jnp.int32)
    for step_key in jax.random.split(key, 12):
        expected = autoreset_step(jax.random.split(step_key, 16), state, actions)
        result = vector_step(step_key, state, actions)
        assert set(result[4]) == set(expected[4]) >= {"final_obs", "final_state", "truncated"}
        assert_trees_close(result, expected, atol=0.0)
        state = result[1]


def test_vector_env_reset_pool_is_exact_below_and_above_the_pool_size():
    """A long rollout takes all three pool paths and equals the rollout that resets every env."""
    # on this key: 3 steps with no finish, 45 with 1-4, 12 with more than the pool of 4
    env = Counter(max_steps=8, end_prob=0.02)
    key = jax.random.key(2)
    _, exact = _vector_rollout(VectorEnv(env, num_envs=32), key, 60)
    _, pooled = _vector_rollout(VectorEnv(env, num_envs=32, num_resets=4), key, 60)
    finishing = np.asarray(pooled[2]).sum(axis=1)
    assert (finishing == 0).any() and ((finishing > 0) & (finishing <= 4)).any()
    assert (finishing > 4).any()
    assert_trees_close(pooled, exact, atol=0.0)


@pytest.mark.parametrize("num_resets", [None, 4])
def test_every_finished_env_starts_a_distinct_episode(num_resets):
    """All 64 envs finish together every 3 steps; a pool of 4 must not replay 4 episodes."""
    vector = VectorEnv(Counter(max_steps=3), num_envs=64, num_resets=num_resets)
    start, (_, states, done, info) = _vector_rollout(vector, jax.random.key(3), 30)
    done = np.asarray(done)
    assert done.sum() == 64 * 10
    new_ids = np.asarray(states.episode_id)[done]  # u32[finished, 2] the episodes started
    first_ids = np.asarray(start.episode_id)
    all_ids = np.concatenate([first_ids, new_ids])
    # 64 random bits per episode: a collision among 704 draws has probability ~1e-14
    assert len(np.unique(all_ids, axis=0)) == 64 + done.sum()
    # final_state is the state the env stepped into: 3 steps of [1, 2] on its own start
    final = info["final_state"]
    np.testing.assert_array_equal(np.asarray(final.step)[done], 3)
    np.testing.assert_allclose(
        np.asarray(final.count)[done] - np.asarray(final.start)[done][:, None],
        np.broadcast_to([3.0, 6.0], (done.sum(), 2)),
        atol=1e-6,
    )


def test_reset_pool_under_an_outer_vmap_keeps_its_fast_path_and_values():
    """PPO vmaps seeds around VectorEnv: still exact, and the pool's switch is not a select."""
    env = Counter(max_steps=4, end_prob=0.3)
    pooled = VectorEnv(env, num_envs=8, num_resets=2)
    exact = VectorEnv(env, num_envs=8)
    seed_keys = jax.random.split(jax.random.key(4), 3)
    _, state = jax.vmap(pooled.reset)(seed_keys)
    actions = jnp.ones((3, 8, 2), jnp.int32)
    pooled_step, exact_step = jax.jit(jax.vmap(pooled.step)), jax.jit(jax.vmap(exact.step))
    for step_keys in jax.random.split(jax.random.key(5), (6, 3)):
        result = pooled_step(step_keys, state, actions)
        assert_trees_close(result, exact_step(step_keys, state, actions), atol=0.0)
        state = result[1]
    jaxpr = str(jax.make_jaxpr(jax.vmap(pooled.step))(step_keys, state, actions))
    assert "cond[" in jaxpr  # a switch with a batched index would have become a select


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
    with pytest.raises(ConfigError, match="num_resets"):
        VectorEnv(Counter(), num_envs=2, num_resets=0)


def test_wrapper_forwards_attributes():
    env = LogWrapper(AutoReset(Counter(num_agents_=4)))
    assert env.num_agents == 4 and env.action_space == Discrete(3)
    assert isinstance(env.unwrapped, Counter)
