"""The batched episode runner: hand values, a Python reference loop, jit == no-jit, wins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.algorithms.common.policy import StatelessPolicy
from marlax.envs.base import Env
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.evaluation.episodes import check_episode_settings, jitted_run_episodes, run_episodes
from marlax.evaluation.summary import summarize_episodes
from marlax.evaluation.wins import smax_won, win_condition


@struct.dataclass
class CoinState:
    step: jax.Array  # i32[]
    total: jax.Array  # f32[] reward paid so far (makes a frozen state visible)


@dataclass(frozen=True)
class Coin(Env):
    """2 agents; agent i's reward is its action (0 or 1) plus `bonus`; the episode ends at a
    coin flip (probability `stop`) or at `end_at`, else by the time limit."""

    name: ClassVar[str] = "coin"
    max_steps: int = 6
    stop: float = 0.3
    end_at: int = 0  # 0: never by count
    bonus: float = 0.0

    @property
    def num_agents(self) -> int:
        return 2

    @property
    def observation_space(self) -> Box:
        return Box(0.0, 1e6, (1,), "float32")

    @property
    def action_space(self) -> Discrete:
        return Discrete(2)

    def reset(self, key):
        del key
        state = CoinState(step=jnp.zeros((), jnp.int32), total=jnp.zeros((), jnp.float32))
        return jnp.zeros((2, 1), jnp.float32), state

    def _step(self, key, state, actions):
        reward = actions.astype(jnp.float32) + self.bonus
        step = state.step + 1
        terminated = jax.random.bernoulli(key, self.stop) | (step == self.end_at)
        state = CoinState(step=step, total=state.total + reward.sum())
        obs = jnp.broadcast_to(state.total, (2, 1)).astype(jnp.float32)
        return obs, state, reward, terminated, {}

    def render(self, state):
        return jnp.zeros((16, 16, 3), jnp.uint8)


def _random_actions(key, obs, state):
    del obs, state
    return jax.random.randint(key, (2,), 0, 2)


RANDOM = StatelessPolicy(_random_actions)
ALWAYS_ONE = StatelessPolicy(lambda key, obs, state: jnp.ones(2, jnp.int32))


def _reference(key, env, policy, num_episodes):
    """A Python loop over the runner's keys that stops each episode at its first done."""
    returns, lengths = [], []
    for episode_key in jax.random.split(key, num_episodes):
        reset_key, loop_key = jax.random.split(episode_key)
        obs, state = env.reset(reset_key)
        total, length = np.zeros(2), 0
        for step_key in jax.random.split(loop_key, env.max_steps):
            policy_key, env_key = jax.random.split(step_key)
            actions, _ = policy.act(policy_key, obs, state, (), jnp.asarray(length == 0))
            obs, state, reward, done, _ = env.step(env_key, state, actions)
            total, length = total + np.asarray(reward), length + 1
            if bool(done):
                break
        returns.append(total)
        lengths.append(length)
    return np.stack(returns), np.asarray(lengths)


def test_known_values_count_only_until_the_first_done():
    # reward 1 + 0.5 per agent and step; terminated at step 3, long before the time limit
    env = Coin(max_steps=10, stop=0.0, end_at=3, bonus=0.5)
    results = jitted_run_episodes(jax.random.key(0), env=env, policy=ALWAYS_ONE, num_episodes=4)
    np.testing.assert_array_equal(np.asarray(results.returns), np.full((4, 2), 4.5))
    np.testing.assert_array_equal(np.asarray(results.lengths), [3, 3, 3, 3])
    assert not np.asarray(results.won).any()


def test_time_limit_ends_every_episode():
    env = Coin(max_steps=4, stop=0.0)
    results = jitted_run_episodes(jax.random.key(0), env=env, policy=ALWAYS_ONE, num_episodes=2)
    np.testing.assert_array_equal(np.asarray(results.lengths), [4, 4])
    np.testing.assert_array_equal(np.asarray(results.returns), np.full((2, 2), 4.0))


def test_matches_a_python_loop_over_the_same_keys():
    env = Coin()
    key = jax.random.key(7)
    results = jitted_run_episodes(key, env=env, policy=RANDOM, num_episodes=12)
    returns, lengths = _reference(key, env, RANDOM, 12)
    np.testing.assert_array_equal(np.asarray(results.lengths), lengths)
    np.testing.assert_allclose(np.asarray(results.returns), returns)
    assert len(set(lengths.tolist())) > 1  # the episodes really end at different steps
    assert np.all(lengths <= env.max_steps)


def test_jit_equals_no_jit():
    env = Coin(max_steps=4)
    key = jax.random.key(3)
    jitted = jitted_run_episodes(key, env=env, policy=RANDOM, num_episodes=3)
    with jax.disable_jit():
        plain = run_episodes(key, env, RANDOM, 3)
    np.testing.assert_array_equal(np.asarray(jitted.lengths), np.asarray(plain.lengths))
    np.testing.assert_allclose(np.asarray(jitted.returns), np.asarray(plain.returns))


def test_one_episode_and_one_step():
    env = Coin(max_steps=1, stop=0.0)
    results = jitted_run_episodes(jax.random.key(0), env=env, policy=ALWAYS_ONE, num_episodes=1)
    assert np.asarray(results.returns).tolist() == [[1.0, 1.0]]
    assert np.asarray(results.lengths).tolist() == [1]


def test_summary_team_return_is_the_mean_over_agents():
    env = Coin(max_steps=3, stop=0.0)
    results = jitted_run_episodes(jax.random.key(0), env=env, policy=RANDOM, num_episodes=6)
    evaluation = summarize_episodes(results, has_win=False)
    np.testing.assert_allclose(evaluation.team_returns, np.asarray(results.returns).mean(axis=1))
    assert evaluation.win_rate is None and evaluation.summary_json()["win_rate"] is None
    estimate = evaluation.team_return
    assert estimate.low <= estimate.mean <= estimate.high


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="episodes"):
        check_episode_settings(Coin(), 0)
    with pytest.raises(ConfigError, match="max_steps"):
        check_episode_settings(Coin(max_steps=10**9), 4)


def test_plain_envs_define_no_win():
    assert win_condition(Coin()) is None


@struct.dataclass
class UnitsAlive:
    unit_alive: jax.Array  # bool[allies + enemies], like SMAX's State


def test_smax_win_is_all_enemies_dead_and_an_ally_alive():
    cases = {  # 2 allies, then 3 enemies
        (True, False, False, False, False): True,
        (False, True, False, False, False): True,
        (True, True, False, True, False): False,  # an enemy lives
        (False, False, False, False, False): False,  # a draw: everyone dead
    }
    for alive, won in cases.items():
        assert bool(smax_won(UnitsAlive(jnp.asarray(alive)), num_allies=2)) is won


def test_smax_adapter_has_a_win_condition():
    pytest.importorskip("jaxmarl")
    from marlax.envs.adapters import from_jaxmarl

    env = from_jaxmarl("HeuristicEnemySMAX", scenario="3m")
    won = win_condition(env)
    assert won is not None
    _, state = jax.jit(env.reset)(jax.random.key(0))
    assert not bool(won(state))  # everyone alive at the start
    smax_state = state.env_state.state
    enemies_dead = smax_state.unit_alive.at[3:].set(False)
    finished = state.replace(
        env_state=state.env_state.replace(state=smax_state.replace(unit_alive=enemies_dead))
    )
    assert bool(won(finished))
