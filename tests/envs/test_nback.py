"""Variable n-back: hand-checked labels and rewards, uniform draws, observation, settings."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from marlax.envs import make
from marlax.envs.nback import NBack, State
from marlax.envs.nback.generator import match_labels
from marlax.envs.nback.render import CELL_PX, CURRENT_COLOR, LAG_COLOR, WINDOW, value_palette
from marlax.errors import ConfigError

HAND_VALUES = [1, 0, 1, 1, 0, 1]


def _state(values: list[int], n: int) -> State:
    return State(
        values=jnp.asarray(values, jnp.int32),
        n=jnp.asarray(n, jnp.int32),
        last_action=jnp.asarray(-1, jnp.int32),
        last_reward=jnp.asarray(0.0, jnp.float32),
        step=jnp.asarray(0, jnp.int32),
    )


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (2, [False, False, True, False, False, True]),
        (1, [False, False, False, True, False, False]),
        (0, [True] * 6),  # x_t == x_t
        (6, [False] * 6),  # no step reaches t >= n
    ],
)
def test_labels_of_a_hand_written_sequence(n, expected):
    labels = match_labels(jnp.asarray(HAND_VALUES, jnp.int32), jnp.asarray(n, jnp.int32))
    assert labels.tolist() == expected


def test_rewards_and_observations_follow_the_rule_step_by_step():
    env = NBack(max_n=4, max_value=2, max_steps=6)
    # n = 2 labels: F F T F F T; the 7th value is only shown in the final observation
    state = _state([*HAND_VALUES, 0], n=2)
    actions = [0, 0, 1, 1, 0, 0]
    expected_rewards = [1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    step = jax.jit(env.step)
    for t, (action, expected_reward) in enumerate(zip(actions, expected_rewards, strict=True)):
        obs, state, reward, done, info = step(jax.random.key(t), state, jnp.asarray([action]))
        assert reward.tolist() == [expected_reward]
        next_value = ([*HAND_VALUES, 0])[t + 1]
        expected_obs = [float(next_value == 0), float(next_value == 1), 0.0, 0.0, expected_reward]
        expected_obs[2 + action] = 1.0
        np.testing.assert_array_equal(obs, [expected_obs])
        assert bool(done) == (t == 5) and bool(info["truncated"]) == (t == 5)
        assert not bool(info["terminated"])


def test_before_n_the_correct_answer_is_no_match():
    env = NBack(max_n=8, max_value=2, max_steps=6)
    # all values equal: the label is exactly t >= n
    state = _state([1] * 7, n=4)
    step = jax.jit(env.step)
    rewards_match, rewards_no_match = [], []
    for t in range(6):
        _, _, reward_match, _, _ = step(jax.random.key(0), state, jnp.asarray([1]))
        _, state, reward_no_match, _, _ = step(jax.random.key(0), state, jnp.asarray([0]))
        rewards_match.append(float(reward_match[0]))
        rewards_no_match.append(float(reward_no_match[0]))
        assert int(state.step) == t + 1
    assert rewards_no_match == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    assert rewards_match == [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]


def _many_resets(env: NBack, count: int) -> State:
    keys = jax.random.split(jax.random.key(42), count)
    return jax.jit(jax.vmap(env.reset))(keys)[1]


def test_hidden_n_is_uniform_and_labels_are_false_before_n():
    env = NBack(max_n=12, max_value=2, max_steps=16)
    states = _many_resets(env, 6000)
    n = np.asarray(states.n)
    assert n.min() == 0 and n.max() == 11
    counts = np.bincount(n, minlength=12)
    assert stats.chisquare(counts).pvalue > 1e-3
    labels = np.asarray(jax.vmap(match_labels)(states.values, states.n))
    steps = np.arange(17)[None, :]
    assert not labels[steps < n[:, None]].any()
    # at t >= n >= 1 a match happens half the time with two values
    later = labels[(steps >= n[:, None]) & (n[:, None] >= 1)]
    assert abs(later.mean() - 0.5) < 0.02


def test_values_are_uniform_and_obs_is_their_one_hot():
    env = NBack(max_n=12, max_value=3, max_steps=16)
    states = _many_resets(env, 2000)
    values = np.asarray(states.values)
    assert values.min() == 0 and values.max() == 2
    assert stats.chisquare(np.bincount(values.ravel(), minlength=3)).pvalue > 1e-3
    obs, state = env.reset(jax.random.key(3))
    step = jax.jit(env.step)
    for t in range(4):
        np.testing.assert_array_equal(obs[0, :3], np.eye(3)[int(state.values[t])])
        obs, state, *_ = step(jax.random.key(t), state, jnp.asarray([t % 2]))


def test_first_observation_has_no_previous_action_or_reward():
    env = NBack(max_n=12, max_value=3, max_steps=16)
    obs, state = env.reset(jax.random.key(5))
    assert obs.shape == (1, 6) and obs.dtype == jnp.float32
    np.testing.assert_array_equal(obs[0, 3:], [0.0, 0.0, 0.0])
    assert float(obs[0].sum()) == 1.0


def test_render_shows_recent_values_and_outlines_current_one():
    env = NBack(max_n=4, max_value=2, max_steps=6)
    state = _state([*HAND_VALUES, 0], n=2).replace(step=jnp.asarray(3, jnp.int32))
    image = np.asarray(env.render(state))
    assert image.shape == (2 * CELL_PX, WINDOW * CELL_PX, 3) and image.dtype == np.uint8
    palette = value_palette(2)
    centre = CELL_PX // 2
    for step in range(4):  # steps 0..3 fill the last four columns
        column = WINDOW - 4 + step
        np.testing.assert_array_equal(
            image[centre, column * CELL_PX + centre], palette[HAND_VALUES[step]]
        )
    np.testing.assert_array_equal(image[0, (WINDOW - 1) * CELL_PX], CURRENT_COLOR)
    np.testing.assert_array_equal(image[0, (WINDOW - 1 - 2) * CELL_PX], LAG_COLOR)
    # steps before the episode are dark
    assert image[centre, centre].max() < 60


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("max_n", 0),
        ("max_n", -3),
        ("max_n", 2.5),
        ("max_value", 1),
        ("max_value", 0),
        ("max_value", True),
        ("max_steps", -1),
        ("max_steps", 0),
    ],
)
def test_bad_settings_raise_config_error(setting, value):
    with pytest.raises(ConfigError, match=setting):
        make("nback", **{setting: value})
