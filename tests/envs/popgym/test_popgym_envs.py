"""The POPGym ports on their own: hand-computed episodes, draws, transforms, settings.

jit == no-jit and vmap == loop run for every registered env in tests/envs/test_conformance.py.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.popgym.common import DIFFICULTIES
from marlax.envs.popgym.deck import shuffled_deck, suit_of
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close, rollout

NAMES = [
    "popgym_repeat_previous",
    "popgym_repeat_first",
    "popgym_count_recall",
    "popgym_autoencode",
    "popgym_stateless_cartpole",
    "popgym_noisy_stateless_cartpole",
]
ORDERED_DECK = jnp.arange(52, dtype=jnp.int32)  # dealt from the end: cards 51, 50, ...


@functools.cache
def _jitted_step(env):
    return jax.jit(env.step)


def _step(env, state, action: int):
    return _jitted_step(env)(jax.random.key(0), state, jnp.asarray([action], jnp.int32))


def test_repeat_previous_by_hand():
    """k = 4: steps 0-2 pay nothing; step 3 asks the suit of deal 0 (card 51, suit 3)."""
    env = make("popgym_repeat_previous")
    obs, state = env.reset_from(ORDERED_DECK)
    np.testing.assert_array_equal(obs, [[0, 0, 0, 1]])  # card 51 is a heart (suit 3)
    for _ in range(3):
        _, state, reward, done, _ = _step(env, state, 3)
        assert float(reward[0]) == 0.0 and not done
    _, right_state, reward, _, _ = _step(env, state, 3)
    assert float(reward[0]) == pytest.approx(1 / 48)
    _, _, reward, _, _ = _step(env, state, 0)
    assert float(reward[0]) == pytest.approx(-1 / 48)
    obs, _, reward, _, _ = _step(env, right_state, 2)  # step 4 asks deal 1: card 50, suit 2
    assert float(reward[0]) == pytest.approx(1 / 48)
    np.testing.assert_array_equal(obs, [[0, 0, 1, 0]])  # deal 5 is card 46, suit 2


def test_repeat_first_by_hand():
    env = make("popgym_repeat_first")
    _, state = env.reset_from(ORDERED_DECK)  # first card 51: suit 3
    for step in range(env.max_steps):
        obs, state, reward, done, info = _step(env, state, 3)
        assert float(reward[0]) == pytest.approx(1 / 51)
        assert bool(done) == (step == 50) == bool(info["terminated"])
        np.testing.assert_array_equal(obs[0], np.eye(4)[(50 - step) % 4])
    _, _, reward, _, _ = _step(env, env.reset_from(ORDERED_DECK)[1], 1)
    assert float(reward[0]) == pytest.approx(-1 / 51)


def test_count_recall_by_hand():
    """Colours of cards 51, 50, 49: red, black, red; queries are the same sequence."""
    env = make("popgym_count_recall")
    obs, state = env.reset_from(ORDERED_DECK, ORDERED_DECK)
    np.testing.assert_array_equal(obs, [[0, 1, 0, 1]])  # dealt red, asked red
    assert env.action_space.n == 27
    obs, state, reward, _, _ = _step(env, state, 1)  # reds so far: 1
    assert float(reward[0]) == pytest.approx(1 / 51)
    np.testing.assert_array_equal(obs, [[1, 0, 1, 0]])  # dealt black, asked black
    np.testing.assert_array_equal(state.counts, [1, 1])
    _, state, reward, _, _ = _step(env, state, 0)  # blacks so far: 1, so 0 is wrong
    assert float(reward[0]) == pytest.approx(-1 / 51)
    np.testing.assert_array_equal(state.counts, [1, 2])


def test_autoencode_by_hand():
    """Watch 51 steps (the last one already flags play), then recall 52 suits backwards."""
    env = make("popgym_autoencode")
    obs, state = env.reset_from(ORDERED_DECK)
    np.testing.assert_array_equal(obs, [[1, 0, 0, 0, 1]])  # watching card 51
    for step in range(51):
        obs, state, reward, done, _ = _step(env, state, 0)
        assert float(reward[0]) == 0.0 and not done
        flag = 0.0 if step == 50 else 1.0
        np.testing.assert_array_equal(obs[0], [flag, *np.eye(4)[(50 - step) % 4]])
    total = 0.0
    for step in range(52):
        # the deal order is cards 51 .. 0, recalled backwards: cards 0 .. 51
        obs, state, reward, done, info = _step(env, state, step % 4)
        np.testing.assert_array_equal(obs, [[0, 1, 0, 0, 0]])  # play shows (0, suit 0)
        assert bool(info["terminated"]) == (step == 51) and not info["truncated"]
        total += float(reward[0])
    assert total == pytest.approx(1.0, abs=1e-5)
    assert int(state.step) == env.max_steps == 103


@pytest.mark.parametrize("name", ["popgym_stateless_cartpole", "popgym_noisy_stateless_cartpole"])
def test_cartpole_reward_termination_and_truncation(name):
    env = make(name, difficulty="medium")
    # a pole already 0.2 rad over, falling: terminates after one step
    _, state = env.reset_from(jnp.asarray([0.0, 0.0, 0.2, 1.0]))
    _, state, reward, done, info = _step(env, state, 1)
    assert bool(info["terminated"]) and bool(done)
    assert float(reward[0]) == pytest.approx(1 / env.max_steps)  # the terminating step pays
    _, state, reward, _, info = _step(env, state, 1)  # stepping on past the end
    assert bool(info["terminated"]) and float(reward[0]) == -1.0
    _, state = env.reset_from(jnp.zeros(4))
    state = state.replace(step=jnp.asarray(env.max_steps - 1, jnp.int32))
    _, _, reward, done, info = _step(env, state, 1)
    assert bool(info["truncated"]) and not info["terminated"] and bool(done)


def test_cartpole_lengths_by_difficulty():
    lengths = {d: make("popgym_stateless_cartpole", difficulty=d).max_steps for d in DIFFICULTIES}
    assert lengths == {"easy": 200, "medium": 400, "hard": 600}
    noisy = [make("popgym_noisy_stateless_cartpole", difficulty=d) for d in DIFFICULTIES]
    assert [env.max_steps for env in noisy] == [200, 200, 200]
    assert [env.noise_sigma for env in noisy] == [0.1, 0.2, 0.3]


def test_noise_has_the_difficultys_spread():
    env = make("popgym_noisy_stateless_cartpole", difficulty="hard")
    _, state = env.reset_from(jnp.zeros(4))
    keys = jax.random.split(jax.random.key(3), 4000)
    actions = jnp.ones((4000, 1), jnp.int32)
    noisy_obs = jax.vmap(env.step, in_axes=(0, None, 0))(keys, state, actions)[0]
    clean_obs = env.step_with_noise(state, actions[0], jnp.zeros(2))[0]
    noise = np.asarray(noisy_obs[:, 0, 0] - clean_obs[0, 0])  # x: far from its clip bound
    assert noise.mean() == pytest.approx(0.0, abs=0.03)
    assert noise.std() == pytest.approx(0.3, rel=0.05)


@pytest.mark.parametrize("num_decks", [1, 2])
def test_shuffles_are_permutations_dealt_without_replacement(num_decks):
    """A dealt card shares the previous card's suit with probability (13d - 1) / (52d - 1)
    (without replacement), not 1/4 (as independent draws would)."""
    num_cards = 52 * num_decks
    decks = jax.vmap(shuffled_deck, in_axes=(0, None))(
        jax.random.split(jax.random.key(1), 2000), num_cards
    )
    np.testing.assert_array_equal(np.sort(np.asarray(decks), axis=1)[0], np.arange(num_cards))
    same_suit = np.asarray(suit_of(decks[:, 1:]) == suit_of(decks[:, :-1])).mean()
    expected = (13 * num_decks - 1) / (num_cards - 1)
    assert same_suit == pytest.approx(expected, abs=0.005)
    first_card = np.bincount(np.asarray(decks[:, 0]) % 4, minlength=4) / 2000
    np.testing.assert_allclose(first_card, 0.25, atol=0.04)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("name", NAMES)
def test_spaces_and_lengths_per_difficulty(name, difficulty):
    env = make(name, difficulty=difficulty)
    obs, state = jax.jit(env.reset)(jax.random.key(0))
    assert obs.shape == (1, *env.observation_space.shape) and env.observation_space.contains(obs)
    assert env.num_agents == 1 and int(state.step) == 0


@pytest.mark.parametrize("name", NAMES)
def test_same_key_same_episode(name):
    env = make(name, difficulty="medium")
    episode = jax.jit(rollout, static_argnums=(0, 2))
    first = episode(env, jax.random.key(5), 6)
    assert_trees_close(first, episode(env, jax.random.key(5), 6))
    other = episode(env, jax.random.key(6), 6)
    assert not np.array_equal(np.asarray(first[0]), np.asarray(other[0]))


@pytest.mark.parametrize("name", NAMES)
def test_render_shows_the_state(name):
    env = make(name)
    _, state = jax.jit(env.reset)(jax.random.key(0))
    frame = jax.jit(env.render)(state)
    assert frame.dtype == jnp.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert frame.shape[0] % 16 == 0 and frame.shape[1] % 16 == 0
    later = state
    for _ in range(3):
        later = _step(env, later, 1)[1]
    assert not np.array_equal(np.asarray(frame), np.asarray(jax.jit(env.render)(later)))


@pytest.mark.parametrize("name", NAMES)
def test_bad_difficulty_is_a_config_error(name):
    with pytest.raises(ConfigError, match="difficulty"):
        make(name, difficulty="extreme")


def test_max_steps_defaults_to_popgyms_length_and_may_only_shorten_it():
    assert make("popgym_repeat_first", difficulty="hard").max_steps == 831
    assert make("popgym_repeat_first", max_steps=10).max_steps == 10
    for bad in (0, 52, 2.5):
        with pytest.raises(ConfigError, match="max_steps"):
            make("popgym_repeat_first", max_steps=bad)
