"""TrialEnv (RL² trials): the task is kept across inner episodes and redrawn per trial, the
feedback fields hold exactly the previous action, reward and done, the counters and lengths
add up, jit == no-jit, vmap == a loop, and non-families are refused with one ConfigError."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.envs.base import Info
from marlax.envs.meta.family import TaskFamily
from marlax.envs.registry import make
from marlax.envs.spaces import Box, Discrete, Space
from marlax.envs.wrappers import AutoReset, TrialEnv
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close, random_actions


@struct.dataclass
class CounterState:
    task: jax.Array  # f32[] the task: a number added to every reward
    count: jax.Array  # f32[] steps so far, times 10
    step: jax.Array  # i32[]


@dataclass(frozen=True)
class CounterFamily(TaskFamily):
    """Two agents, three actions; reward of agent i = task + action_i; obs = [count, task].

    Ends (terminates) when both agents play action 2; otherwise truncated after max_steps.
    Action 1 is illegal for agent 1 (to check masks pass through).
    """

    name: ClassVar[str] = "counter_family"
    max_steps: int = 3
    reveal_task: bool = False

    @property
    def num_agents(self) -> int:
        return 2

    @property
    def observation_space(self) -> Space:
        return Box(-np.inf, np.inf, (2,))

    @property
    def action_space(self) -> Space:
        return Discrete(3)

    @property
    def task_size(self) -> int:
        return 1

    def sample_task(self, key: jax.Array) -> jax.Array:
        return jax.random.uniform(key, (), minval=1.0, maxval=2.0)

    def task_features(self, task: jax.Array) -> jax.Array:
        return task[None]

    def reset_to_task(self, key: jax.Array, task: jax.Array) -> tuple[jax.Array, CounterState]:
        del key
        state = CounterState(task=task, count=jnp.zeros(()), step=jnp.zeros((), jnp.int32))
        return self._observe(state), state

    def _step(
        self, key, state, actions
    ) -> tuple[jax.Array, CounterState, jax.Array, jax.Array, Info]:
        del key
        state = state.replace(count=state.count + 10.0, step=state.step + 1)
        reward = state.task + actions.astype(jnp.float32)
        return self._observe(state), state, reward, jnp.all(actions == 2), {"tag": state.count}

    def _observe(self, state: CounterState) -> jax.Array:
        return jnp.broadcast_to(jnp.stack([state.count, state.task]), (2, 2))

    def action_mask(self, state: CounterState) -> jax.Array:
        del state
        return jnp.asarray([[True, True, True], [True, False, True]])

    def render(self, state: CounterState) -> jax.Array:
        return jnp.zeros((16, 16, 3), jnp.uint8)


def _play(env: TrialEnv, actions_per_step: list, key: jax.Array) -> list[tuple]:
    obs, state = env.reset(key)
    out = [(obs, state, None, None, None)]
    for step_index, actions in enumerate(actions_per_step):
        step_key = jax.random.fold_in(key, step_index)
        obs, state, reward, done, info = env.step(step_key, state, jnp.asarray(actions))
        out.append((obs, state, reward, done, info))
    return out


def test_feedback_holds_previous_action_reward_and_done_by_hand() -> None:
    env = TrialEnv(CounterFamily(max_steps=3), episodes_per_trial=2)
    assert env.observation_space.shape == (2 + 3 + 2,)
    played = _play(env, [[0, 1], [2, 2], [1, 0], [0, 0], [1, 1]], jax.random.key(0))
    obs0, state0 = played[0][:2]
    task = float(state0.task)
    np.testing.assert_allclose(obs0, [[0, task, 0, 0, 0, 0, 0]] * 2, rtol=1e-6)
    # step 1: actions (0, 1), reward task + action, not done
    obs, _, reward, done, info = played[1]
    np.testing.assert_allclose(reward, [task, task + 1], rtol=1e-6)
    np.testing.assert_allclose(
        obs, [[10, task, 1, 0, 0, task, 0], [10, task, 0, 1, 0, task + 1, 0]], rtol=1e-6
    )
    assert not bool(done) and not bool(info["inner_done"]) and int(info["episode_in_trial"]) == 0
    assert float(info["tag"]) == 10.0  # the family's own info passes through
    # step 2: both play 2 -> the inner episode terminates; the next starts (count back to 0)
    obs, state, reward, done, info = played[2]
    np.testing.assert_allclose(
        obs, [[0, task, 0, 0, 1, task + 2, 1], [0, task, 0, 0, 1, task + 2, 1]], rtol=1e-6
    )
    assert bool(info["inner_done"]) and bool(info["inner_terminated"])
    assert not bool(done) and int(info["episode_in_trial"]) == 0
    assert int(state.episode_in_trial) == 1 and float(state.task) == task
    # steps 3-5: the second episode runs to its time limit (3 steps): the trial ends
    for index in (3, 4):
        assert not bool(played[index][3]) and int(played[index][4]["episode_in_trial"]) == 1
    obs, state, reward, done, info = played[5]
    assert bool(done) and bool(info["inner_truncated"]) and not bool(info["inner_terminated"])
    np.testing.assert_allclose(obs[:, -1], [1.0, 1.0])
    np.testing.assert_allclose(obs[:, 0], [30.0, 30.0])  # the last episode is not reset
    assert int(state.step) == 5 and int(state.episode_in_trial) == 2


def test_trial_length_is_k_times_the_inner_length() -> None:
    family = CounterFamily(max_steps=3)
    for episodes in (1, 2, 4):
        env = TrialEnv(family, episodes_per_trial=episodes)
        assert env.max_steps == 3 * episodes
        played = _play(env, [[0, 0]] * env.max_steps, jax.random.key(1))
        dones = [bool(row[3]) for row in played[1:]]
        assert dones == [False] * (env.max_steps - 1) + [True]
        counters = [int(row[4]["episode_in_trial"]) for row in played[1:]]
        assert counters == [index // 3 for index in range(env.max_steps)]


def test_the_task_is_kept_within_a_trial_and_redrawn_per_trial() -> None:
    env = AutoReset(TrialEnv(make("navigation_2d", max_steps=4), episodes_per_trial=3))
    key = jax.random.key(2)
    obs, state = env.reset(key)
    goals, trial_ends = [np.asarray(state.task)], []
    step = jax.jit(env.step)
    for index in range(2 * 12):
        obs, state, _, done, _ = step(jax.random.fold_in(key, index), state, jnp.ones((1, 2)))
        goals.append(np.asarray(state.task))
        trial_ends.append(bool(done))
    assert trial_ends == ([False] * 11 + [True]) * 2
    first, second = goals[:12], goals[12:24]
    assert all(np.array_equal(goal, first[0]) for goal in first)
    assert all(np.array_equal(goal, second[0]) for goal in second)
    assert not np.array_equal(first[0], second[0])


def test_reset_to_task_plays_the_given_task() -> None:
    env = TrialEnv(make("bandit_k", num_arms=3, max_steps=2), episodes_per_trial=2)
    task = jnp.asarray([1.0, 0.0, 0.0])
    _, state = env.reset_to_task(jax.random.key(0), task)
    total = 0.0
    for index in range(env.max_steps):
        _, state, reward, _, _ = env.step(jax.random.key(index), state, jnp.asarray([0]))
        total += float(reward[0])
        np.testing.assert_array_equal(env.task_of(state), task)
    assert total == env.max_steps  # arm 0 always pays


def _random_steps(env: TrialEnv, key: jax.Array, num_steps: int) -> tuple:
    obs, state = env.reset(key)

    def _body(state, step_key):
        action_key, step_key = jax.random.split(step_key)
        actions = random_actions(action_key, env, state)
        obs, state, reward, done, info = env.step(step_key, state, actions)
        return state, (obs, reward, done, info["episode_in_trial"])

    return jax.lax.scan(_body, state, jax.random.split(key, num_steps))


def test_jit_matches_no_jit() -> None:
    env = TrialEnv(CounterFamily(max_steps=2), episodes_per_trial=2)
    key = jax.random.key(3)
    with jax.disable_jit():
        eager = _random_steps(env, key, 6)
    jitted = jax.jit(_random_steps, static_argnums=(0, 2))(env, key, 6)
    assert_trees_close(eager, jitted, atol=1e-5)


def test_vmap_matches_a_loop() -> None:
    env = TrialEnv(make("navigation_2d", max_steps=3), episodes_per_trial=2)
    keys = jax.random.split(jax.random.key(4), 3)
    single = jax.jit(_random_steps, static_argnums=(0, 2))
    batched = jax.jit(jax.vmap(_random_steps, in_axes=(None, 0, None)), static_argnums=(0, 2))
    together = batched(env, keys, 7)
    for index in range(3):
        alone = single(env, keys[index], 7)
        assert_trees_close(jax.tree.map(lambda leaf, i=index: leaf[i], together), alone)


@pytest.mark.parametrize("name", ["bandit_k", "spread_family"])
def test_conformance_spaces_masks_and_render(name: str) -> None:
    family = make(name)
    env = TrialEnv(family, episodes_per_trial=2)
    assert hash(env) == hash(TrialEnv(make(name), episodes_per_trial=2))
    obs, state = jax.jit(env.reset)(jax.random.key(4))
    assert obs.shape == (family.num_agents, *env.observation_space.shape)
    assert obs.dtype == jnp.float32 and env.observation_space.contains(obs)
    actions = random_actions(jax.random.key(5), env, state)
    obs, state, reward, done, info = jax.jit(env.step)(jax.random.key(6), state, actions)
    assert reward.shape == (family.num_agents,) and done.shape == ()
    assert info["terminated"].shape == () and info["truncated"].shape == ()
    assert env.observation_space.contains(obs) and np.all(np.isfinite(obs))
    picture = jax.jit(env.render)(state)
    assert (
        picture.dtype == jnp.uint8
        and picture.shape == jax.eval_shape(family.render, state.inner).shape
    )
    global_state = jax.jit(env.global_state)(state, obs)
    assert global_state.ndim == 1 and np.all(np.isfinite(global_state))


def test_action_masks_pass_through() -> None:
    env = TrialEnv(CounterFamily(), episodes_per_trial=2)
    _, state = env.reset(jax.random.key(0))
    np.testing.assert_array_equal(env.action_mask(state), [[1, 1, 1], [1, 0, 1]])


def test_box_actions_are_fed_back_as_raw_vectors() -> None:
    env = TrialEnv(make("navigation_2d"), episodes_per_trial=2)
    _, state = env.reset(jax.random.key(0))
    obs, *_ = env.step(jax.random.key(1), state, jnp.asarray([[0.3, -0.02]]))
    np.testing.assert_allclose(obs[0, 2:4], [0.3, -0.02])  # unclipped: what the policy played


@pytest.mark.parametrize(
    ("family", "field"),
    [(make("simple_spread"), "family"), (make("nback"), "family")],
)
def test_a_non_family_is_refused(family, field) -> None:
    with pytest.raises(ConfigError) as error:
        TrialEnv(family, episodes_per_trial=2)
    assert error.value.field == field and "task family" in error.value.expected


def test_episodes_per_trial_below_one_is_refused() -> None:
    with pytest.raises(ConfigError) as error:
        TrialEnv(make("bandit_k"), episodes_per_trial=0)
    assert error.value.field == "episodes_per_trial"
