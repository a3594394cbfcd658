"""The POPGym ports against popgym 1.0.7 itself: step for step, and in distribution.

Differences allowed, and why:
- RNG streams: numpy vs JAX. popgym's draws (shuffled decks, initial cart-pole state,
  observation noise) are read back and injected (`reset_from`, `step_with_noise`).
- Rewards: popgym returns Python floats, marlax float32: compared to rtol 1e-6.
- Cart-pole physics: gymnasium steps in float64, marlax in float32. One step agrees to
  ~1e-7; over an episode the unstable pole amplifies rounding (a factor ~1.09 a step), so
  free-running replays agree to 1e-5 only over random-policy episodes (~10-40 steps),
  and long episodes are checked teacher-forced: every step starts from popgym's state.
  Even float64 JAX drifts after ~300 steps (XLA's sin/cos differ from libm in the last
  ulp), so the float64 free-running check covers the 200-step Easy episode.
- Truncation: popgym reports `truncated` on the L-th step also when that step
  terminates; marlax's API makes `truncated` exclude `terminated`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

pytest.importorskip("popgym")

from popgym.core.deck import Deck  # noqa: E402

from marlax.envs import make  # noqa: E402
from marlax.envs.popgym.common import DIFFICULTIES  # noqa: E402
from marlax.envs.popgym.deck import color_of, rank_of, suit_of  # noqa: E402
from tests.envs.popgym.reference import (  # noqa: E402
    CARTPOLES,
    PORTS,
    play_reference,
    reference_env,
    replay_each_step,
    replay_in_marlax,
)

CARD_PORTS = [name for name in PORTS if name not in CARTPOLES]


def _assert_same_outputs(episode, replay, obs_atol: float = 0.0) -> None:
    np.testing.assert_allclose(replay["first_obs"], episode.first_obs, atol=obs_atol, rtol=0)
    np.testing.assert_allclose(replay["obs"], np.stack(episode.obs), atol=obs_atol, rtol=0)
    np.testing.assert_allclose(replay["reward"], np.asarray(episode.rewards), rtol=1e-6)
    terminated = np.asarray(episode.terminated)
    np.testing.assert_array_equal(replay["terminated"], terminated)
    np.testing.assert_array_equal(replay["truncated"], np.asarray(episode.truncated) & ~terminated)


def test_deck_tables_equal_popgyms():
    for num_decks in (1, 2, 4):
        deck = Deck(num_decks)
        cards = jnp.arange(deck.num_cards)
        np.testing.assert_array_equal(suit_of(cards), deck.suits_idx)
        np.testing.assert_array_equal(color_of(cards), deck.colors_idx)
        np.testing.assert_array_equal(rank_of(cards), deck.ranks_idx)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("name", CARD_PORTS)
def test_card_games_equal_popgym_step_for_step(name, difficulty):
    """Whole episodes; one half-right policy, one always-right policy (return exactly 1)."""
    for seed, p_correct in ((0, 0.5), (1, 1.0)):
        episode = play_reference(name, difficulty, seed, p_correct)
        replay = replay_in_marlax(name, difficulty, episode)
        _assert_same_outputs(episode, replay)
        assert len(episode.actions) == make(name, difficulty=difficulty).max_steps
        if p_correct == 1.0:
            assert replay["reward"].sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
@pytest.mark.parametrize("name", CARTPOLES)
def test_cartpoles_equal_popgym_at_every_step(name, difficulty):
    """Teacher-forced over long (balanced, truncated) and short (random) episodes."""
    for seed, p_correct in ((0, 0.9), (1, 0.0)):
        episode = play_reference(name, difficulty, seed, p_correct)
        replay = replay_each_step(name, difficulty, episode)
        next_physics = np.stack([*episode.physics[1:], replay["physics"][-1]])
        np.testing.assert_allclose(replay["physics"], next_physics, atol=1e-6, rtol=0)
        replay["first_obs"] = episode.first_obs  # the reset is checked free-running below
        _assert_same_outputs(episode, replay, obs_atol=1e-6)
    assert len(episode.actions) < make(name, difficulty=difficulty).max_steps


def test_balanced_episodes_reach_truncation_as_popgym():
    episode = play_reference("popgym_stateless_cartpole", "hard", 0, 0.9)
    assert len(episode.actions) == 600 and episode.truncated[-1]
    replay = replay_each_step("popgym_stateless_cartpole", "hard", episode)
    assert replay["truncated"][-1] and not replay["truncated"][:-1].any()


@pytest.mark.parametrize("name", CARTPOLES)
def test_cartpoles_free_running_equal_popgym_over_random_episodes(name):
    for difficulty in DIFFICULTIES:
        for seed in range(3):
            episode = play_reference(name, difficulty, seed, p_correct=0.0)
            _assert_same_outputs(episode, replay_in_marlax(name, difficulty, episode), 1e-5)


def test_float64_cartpole_free_running_equals_popgym_over_a_whole_easy_episode():
    episode = play_reference("popgym_stateless_cartpole", "easy", 3, p_correct=0.8)
    assert len(episode.actions) == 200
    with jax.enable_x64(True):
        replay = replay_in_marlax("popgym_stateless_cartpole", "easy", episode)
    _assert_same_outputs(episode, replay, obs_atol=1e-6)


def _popgym_random_returns(name: str, num_episodes: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    returns = []
    for seed in range(num_episodes):
        ref = reference_env(name, "easy")
        ref.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = ref.step(int(rng.integers(ref.action_space.n)))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return np.asarray(returns)


def _marlax_random_returns(name: str, num_episodes: int) -> np.ndarray:
    env = make(name, difficulty="easy")

    def _episode(key):
        reset_key, loop_key = jax.random.split(key)
        _, state = env.reset(reset_key)

        def _body(carry, step_key):
            """Carries (state, return, done); stacks nothing."""
            state, total, done = carry
            action_key, env_key = jax.random.split(step_key)
            action = jax.random.randint(action_key, (1,), 0, env.action_space.n)
            _, state, reward, step_done, _ = env.step(env_key, state, action)
            total = total + jnp.where(done, 0.0, reward[0])
            return (state, total, done | step_done), None

        start = (state, jnp.float32(0.0), jnp.asarray(False))
        (_, total, _), _ = jax.lax.scan(_body, start, jax.random.split(loop_key, env.max_steps))
        return total

    keys = jax.random.split(jax.random.key(0), num_episodes)
    return np.asarray(jax.jit(jax.vmap(_episode))(keys))


@pytest.mark.parametrize("name", list(PORTS))
def test_random_policy_returns_match_popgym_in_distribution(name):
    """Mean random-policy return (Easy) within 4 standard errors of popgym's (a wrong draw
    distribution, e.g. an initial state drawn too wide, shifts the cart-pole means)."""
    reference = _popgym_random_returns(name, 200)
    ours = _marlax_random_returns(name, 1000)
    standard_error = np.sqrt(reference.var() / reference.size + ours.var() / ours.size)
    assert abs(ours.mean() - reference.mean()) < 4 * standard_error + 1e-6
    # the spread agrees too (within 25%): same per-step reward scale and episode lengths
    assert ours.std() == pytest.approx(reference.std(), rel=0.25)
