"""Hand-checked rules of the traveling salesman grid world."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.grid.tiles import Action, Tile, Unit
from marlax.envs.traveling_salesman import TravelingSalesman, TravelingSalesmanState
from marlax.errors import ConfigError

ENV = TravelingSalesman(width=6, height=5, num_agents=2, num_flags=3, view_size=5)
STEP = jax.jit(ENV.step)
RESET = jax.jit(ENV.reset)
UP, RIGHT, DOWN, LEFT, STAY = 0, 1, 2, 3, 4
THIRD = 1.0 / 3.0


def _state(positions, available=None) -> TravelingSalesmanState:
    """Flags at (1, 0), (2, 0), (4, 4) on an empty 6 x 5 map."""
    flags = np.array([[1, 0], [2, 0], [4, 4]], np.int32)
    terrain = np.zeros((6, 5), np.int8)
    terrain[flags[:, 0], flags[:, 1]] = Tile.FLAG
    if available is None:
        available = np.ones((2, 3), bool)
    return TravelingSalesmanState(
        terrain=jnp.asarray(terrain),
        positions=jnp.asarray(positions, jnp.int32),
        flag_positions=jnp.asarray(flags),
        flag_available=jnp.asarray(available),
        step=jnp.int32(0),
    )


def _run(state, action_list):
    """Step through a list of per-agent action pairs; returns the state and rewards f32[T, N]."""
    rewards = []
    for step_index, actions in enumerate(action_list):
        _, state, reward, _, _ = STEP(jax.random.key(step_index), state, jnp.asarray(actions))
        rewards.append(np.asarray(reward))
    return state, np.stack(rewards)


def test_flag_pays_a_third_once_per_cycle():
    state = _state([[0, 0], [5, 2]])
    state, rewards = _run(state, [(RIGHT, STAY), (LEFT, STAY), (RIGHT, STAY), (STAY, STAY)])
    np.testing.assert_allclose(rewards[:, 0], [THIRD, 0.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_array_equal(state.flag_available[0], [False, True, True])


def test_my_flag_does_not_affect_another_agent():
    state = _state([[0, 0], [1, 1]])
    # agent 0 takes flag (1, 0) and leaves it; then agent 1 enters the same flag
    state, rewards = _run(state, [(RIGHT, STAY), (LEFT, STAY), (STAY, DOWN)])
    np.testing.assert_allclose(rewards, [[THIRD, 0.0], [0.0, 0.0], [0.0, THIRD]], atol=1e-7)
    np.testing.assert_array_equal(state.flag_available, [[False, True, True], [False, True, True]])


def test_taking_the_last_flag_starts_a_new_cycle():
    # agent 0 already took flags 0 and 2; flag 1 at (2, 0) is its last
    state = _state([[3, 0], [5, 2]], available=[[False, True, False], [True, True, True]])
    state, rewards = _run(state, [(LEFT, STAY)])
    np.testing.assert_allclose(rewards[0], [THIRD, 0.0], atol=1e-7)
    np.testing.assert_array_equal(state.flag_available[0], [True, True, True])
    # the first flag pays again, and so does re-entering the last one
    state, rewards = _run(state, [(LEFT, STAY), (RIGHT, STAY)])
    np.testing.assert_allclose(rewards[:, 0], [THIRD, THIRD], atol=1e-7)


def test_standing_on_an_available_flag_pays_nothing():
    state = _state([[1, 0], [5, 2]])  # starts on flag 0, which is available
    state, rewards = _run(state, [(STAY, STAY), (Action.ATTACK, STAY), (Action.DIG, STAY)])
    np.testing.assert_array_equal(rewards, np.zeros((3, 2)))
    np.testing.assert_array_equal(state.positions[0], [1, 0])


def test_map_edge_blocks_moves():
    state = _state([[0, 0], [5, 4]])
    state, _ = _run(state, [(LEFT, RIGHT), (DOWN, UP)])
    np.testing.assert_array_equal(state.positions, [[0, 0], [5, 4]])


def test_obs_shows_flags_whatever_the_availability():
    fresh = _state([[2, 2], [5, 2]])
    spent = _state([[2, 2], [5, 2]], available=[[False, False, True], [False, True, False]])
    obs, _, _, _, _ = STEP(jax.random.key(0), fresh, jnp.asarray([STAY, STAY]))
    obs_spent, _, _, _, _ = STEP(jax.random.key(0), spent, jnp.asarray([STAY, STAY]))
    np.testing.assert_array_equal(obs, obs_spent)
    # view[2 + dx, 2 + dy] for agent 0 at (2, 2): flags at dx, dy = (-1, -2), (0, -2)
    assert int(obs[0, 1, 0, 0]) == Tile.FLAG and int(obs[0, 2, 0, 0]) == Tile.FLAG
    assert int(obs[0, 2, 2, 1]) == Unit.SELF
    # agent 1 at (5, 2): the map ends at dx = 1, padded with walls
    np.testing.assert_array_equal(obs[1, 4, :, 0], np.full(5, Tile.WALL))
    assert int(obs[0, 2, 2, 0]) == Tile.EMPTY and int(obs[1, 2, 2, 1]) == Unit.SELF


def test_obs_marks_other_agents():
    obs, _, _, _, _ = STEP(jax.random.key(0), _state([[2, 2], [3, 3]]), jnp.asarray([STAY, STAY]))
    assert int(obs[0, 3, 3, 1]) == Unit.AGENT and int(obs[1, 1, 1, 1]) == Unit.AGENT
    assert int(np.sum(np.asarray(obs[..., 1]) == Unit.AGENT)) == 2


def test_reset_places_distinct_flags_and_agents(key):
    obs, state = RESET(key)
    cells = np.concatenate([state.flag_positions, state.positions])
    assert len({tuple(cell) for cell in cells.tolist()}) == 5
    terrain = np.asarray(state.terrain)
    assert int(np.sum(terrain == Tile.FLAG)) == 3
    assert np.all(terrain[state.flag_positions[:, 0], state.flag_positions[:, 1]] == Tile.FLAG)
    assert set(np.unique(terrain).tolist()) <= {Tile.EMPTY, Tile.DECOR, Tile.FLAG}
    assert bool(jnp.all(state.flag_available))
    np.testing.assert_array_equal(obs[:, 2, 2, 1], [Unit.SELF, Unit.SELF])
    assert ENV.observation_space.contains(obs)


def test_action_mask_allows_moves_and_stay_only(key):
    _, state = RESET(key)
    mask = np.asarray(ENV.action_mask(state))
    np.testing.assert_array_equal(mask, [[True] * 5 + [False] * 2] * 2)


def test_global_state_carries_the_memory(key):
    obs, state = RESET(key)
    spent = state.replace(flag_available=state.flag_available.at[0, 0].set(False))
    assert ENV.global_state(state, obs).shape == (2 * 5 * 5 * 2 + 2 * 3,)
    assert not np.array_equal(ENV.global_state(state, obs), ENV.global_state(spent, obs))


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("view_size", 4),
        ("num_flags", -1),
        ("num_agents", 0),
        ("num_flags", 399),
        ("width", 0),
        ("decor_density", 1.5),
        ("flag_reward", float("nan")),
    ],
)
def test_bad_settings_are_config_errors(setting, value):
    with pytest.raises(ConfigError, match=setting):
        make("traveling_salesman", **{setting: value})
