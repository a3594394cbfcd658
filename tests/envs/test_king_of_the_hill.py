"""Hand-checked rules of the king of the hill grid world."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.grid.tiles import Tile, Unit
from marlax.envs.king_of_the_hill import KingOfTheHill, KingOfTheHillState
from marlax.envs.king_of_the_hill.generator import band_rows
from marlax.envs.king_of_the_hill.rules import capture
from marlax.envs.king_of_the_hill.types import NEUTRAL
from marlax.errors import ConfigError

# 7 x 7 map; agents 0, 1 are team 0 (spawns (2, 0), (3, 0)),
# agents 2, 3 are team 1 (spawns (2, 6), (3, 6))
ENV = KingOfTheHill(
    width=7, height=7, team_size=2, num_control_points=2, control_band_height=3, view_size=5
)
STEP = jax.jit(ENV.step)
RESET = jax.jit(ENV.reset)
UP, RIGHT, DOWN, LEFT, STAY, ATTACK, DIG = range(7)
PER_POINT = 10.0 / 512.0
FAR = [[0, 2], [0, 4], [6, 2], [6, 4]]  # four cells away from everything


def _state(positions, facing=(0, 0, 2, 2), walls=(), owner=(NEUTRAL, NEUTRAL), timeout=None):
    """An empty map with control points at (3, 3) and (5, 3)."""
    terrain = np.zeros((7, 7), np.int8)
    for x, y in walls:
        terrain[x, y] = Tile.DIGGABLE_WALL
    return KingOfTheHillState(
        terrain=jnp.asarray(terrain),
        positions=jnp.asarray(positions, jnp.int32),
        facing=jnp.asarray(facing, jnp.int32),
        timeout=jnp.zeros(4, jnp.int32) if timeout is None else jnp.asarray(timeout, jnp.int32),
        control_positions=jnp.asarray([[3, 3], [5, 3]], jnp.int32),
        control_owner=jnp.asarray(owner, jnp.int32),
        step=jnp.int32(0),
    )


def _run(state, action_list):
    """Step through per-agent actions; returns the final obs, state and rewards f32[T, N]."""
    rewards = []
    obs = None
    for step_index, actions in enumerate(action_list):
        obs, state, reward, _, _ = STEP(jax.random.key(step_index), state, jnp.asarray(actions))
        rewards.append(np.asarray(reward))
    return obs, state, np.stack(rewards)


def test_capture_persists_after_the_capturer_leaves():
    state = _state([[3, 2], *FAR[1:]])
    _, state, rewards = _run(state, [(UP, STAY, STAY, STAY), (LEFT, STAY, STAY, STAY)])
    np.testing.assert_array_equal(state.control_owner, [0, NEUTRAL])
    np.testing.assert_array_equal(state.positions[0], [2, 3])
    np.testing.assert_allclose(rewards, [[PER_POINT, PER_POINT, 0, 0]] * 2, rtol=1e-6)


def test_other_team_recaptures():
    state = _state([*FAR[:2], [3, 4], FAR[3]], owner=(0, 0))
    _, state, rewards = _run(state, [(STAY, STAY, DOWN, STAY)])
    np.testing.assert_array_equal(state.control_owner, [1, 0])
    np.testing.assert_allclose(rewards[0], [PER_POINT, PER_POINT, PER_POINT, PER_POINT], rtol=1e-6)


def test_reward_counts_points_held_for_every_team_member():
    state = _state(FAR, owner=(0, 0))
    _, _, rewards = _run(state, [(STAY,) * 4])
    np.testing.assert_allclose(rewards[0], [2 * PER_POINT, 2 * PER_POINT, 0, 0], rtol=1e-6)
    state = _state(FAR, owner=(1, NEUTRAL))
    _, _, rewards = _run(state, [(STAY,) * 4])
    np.testing.assert_allclose(rewards[0], [0, 0, PER_POINT, PER_POINT], rtol=1e-6)


def test_contested_or_empty_point_keeps_its_owner():
    points = jnp.asarray([[3, 3], [5, 3]], jnp.int32)
    teams = jnp.asarray([0, 0, 1, 1], jnp.int32)
    both = jnp.asarray([[3, 3], [0, 0], [3, 3], [6, 6]], jnp.int32)
    owner = capture(points, jnp.asarray([1, 0], jnp.int32), both, teams)
    np.testing.assert_array_equal(owner, [1, 0])
    alone = jnp.asarray([[3, 3], [5, 3], [0, 0], [6, 6]], jnp.int32)
    np.testing.assert_array_equal(capture(points, jnp.asarray([1, 1]), alone, teams), [0, 0])


def test_attack_respawns_the_faced_enemy_and_teammate():
    # agent 0 at (1, 1) faces right at teammate 1 at (2, 1); agent 2 at (4, 5) faces down at 3
    state = _state([[1, 1], [2, 1], [4, 5], [4, 4]], facing=(1, 0, 2, 2))
    _, state, _ = _run(state, [(ATTACK, STAY, ATTACK, STAY)])
    np.testing.assert_array_equal(state.positions, [[1, 1], [3, 0], [4, 5], [3, 6]])
    np.testing.assert_array_equal(state.facing, [1, 0, 2, 2])  # respawned agents face the centre


def test_hit_agent_does_not_move_that_step():
    state = _state([[1, 1], [2, 1], *FAR[2:]], facing=(1, 0, 2, 2))
    _, state, _ = _run(state, [(ATTACK, RIGHT, STAY, STAY)])
    np.testing.assert_array_equal(state.positions[1], [3, 0])


def test_dig_clears_the_faced_wall_and_freezes_for_ten_steps():
    state = _state([[1, 1], *FAR[1:]], facing=(0, 0, 2, 2), walls=[(1, 2), (5, 5)])
    _, state, _ = _run(state, [(DIG, STAY, STAY, STAY)])
    assert int(state.terrain[1, 2]) == Tile.EMPTY and int(state.terrain[5, 5]) == Tile.DIGGABLE_WALL
    for frozen_step in range(10):
        mask = np.asarray(ENV.action_mask(state))
        np.testing.assert_array_equal(mask[0], [False] * 4 + [True] + [False] * 2)
        _, state, _ = _run(state, [(RIGHT, STAY, STAY, STAY)])
        np.testing.assert_array_equal(state.positions[0], [1, 1], err_msg=f"step {frozen_step}")
    assert bool(np.all(ENV.action_mask(state)[0]))
    _, state, _ = _run(state, [(RIGHT, STAY, STAY, STAY)])
    np.testing.assert_array_equal(state.positions[0], [2, 1])


def test_dig_without_a_wall_does_not_freeze():
    state = _state([[1, 1], *FAR[1:]], facing=(0, 0, 2, 2))
    _, state, _ = _run(state, [(DIG, STAY, STAY, STAY), (RIGHT, STAY, STAY, STAY)])
    np.testing.assert_array_equal(state.positions[0], [2, 1])


def test_walls_block_and_facing_follows_a_blocked_move():
    state = _state([[1, 1], *FAR[1:]], facing=(0, 0, 2, 2), walls=[(2, 1)])
    _, state, _ = _run(state, [(RIGHT, STAY, STAY, STAY)])
    np.testing.assert_array_equal(state.positions[0], [1, 1])
    assert int(state.facing[0]) == RIGHT


def test_two_agents_moving_into_one_cell_both_stay():
    state = _state([[2, 2], [4, 2], *FAR[2:]])
    _, state, _ = _run(state, [(RIGHT, LEFT, STAY, STAY)])
    np.testing.assert_array_equal(state.positions[:2], [[2, 2], [4, 2]])
    np.testing.assert_array_equal(state.facing[:2], [RIGHT, LEFT])


def test_moving_into_an_occupied_cell_is_blocked():
    # agent 0 walks into staying agent 2; agent 1 follows agent 3, which leaves: also blocked
    state = _state([[1, 3], [1, 5], [2, 3], [2, 5]])
    _, state, _ = _run(state, [(RIGHT, RIGHT, STAY, RIGHT)])
    np.testing.assert_array_equal(state.positions, [[1, 3], [1, 5], [2, 3], [3, 5]])


def test_team_identity_and_facing_are_visible():
    state = _state([[3, 1], [2, 1], [3, 2], [0, 6]], facing=(0, 3, 2, 2), owner=(0, 1))
    obs, _, _ = _run(state, [(STAY,) * 4])
    obs = np.asarray(obs)
    # agent 0 at (3, 1): view[2 + dx, 2 + dy]
    assert obs[0, 2, 2, 1] == Unit.SELF and obs[0, 2, 2, 2] == 1  # faces up
    assert obs[0, 1, 2, 1] == Unit.ALLY and obs[0, 1, 2, 2] == 4  # agent 1 faces left
    assert obs[0, 2, 3, 1] == Unit.ENEMY and obs[0, 2, 3, 2] == 3  # agent 2 faces down
    assert obs[0, 2, 4, 0] == Tile.CONTROL_POINT_OWN  # (3, 3) held by team 0
    assert obs[0, 4, 4, 0] == Tile.CONTROL_POINT_ENEMY  # (5, 3) held by team 1
    # agent 2 at (3, 2) sees the same world from the other side
    assert obs[2, 2, 2, 1] == Unit.SELF
    assert obs[2, 2, 1, 1] == Unit.ENEMY and obs[2, 1, 1, 1] == Unit.ENEMY
    assert obs[2, 2, 3, 0] == Tile.CONTROL_POINT_ENEMY and obs[2, 4, 3, 0] == Tile.CONTROL_POINT_OWN
    # agent 3 at (0, 6): off-map cells are walls
    np.testing.assert_array_equal(obs[3, 0, :, 0], np.full(5, Tile.WALL))
    np.testing.assert_array_equal(obs[3, :, 4, 0], np.full(5, Tile.WALL))


def test_neutral_point_looks_neutral_to_both_teams():
    state = _state([[3, 1], [0, 0], [3, 5], [6, 6]])
    obs, _, _ = _run(state, [(STAY,) * 4])
    assert obs[0, 2, 4, 0] == Tile.CONTROL_POINT_NEUTRAL
    assert obs[2, 2, 0, 0] == Tile.CONTROL_POINT_NEUTRAL


def test_reset_layout(key):
    obs, state = RESET(key)
    np.testing.assert_array_equal(state.positions, [[2, 0], [3, 0], [2, 6], [3, 6]])
    np.testing.assert_array_equal(state.facing, [0, 0, 2, 2])
    np.testing.assert_array_equal(state.control_owner, [NEUTRAL, NEUTRAL])
    terrain = np.asarray(state.terrain)
    assert not np.any(terrain[:, [0, 6]] == Tile.DIGGABLE_WALL), "spawn rows must be clear"
    first, end = band_rows(7, 3)
    points = np.asarray(state.control_positions)
    assert np.all((points[:, 1] >= first) & (points[:, 1] < end))
    assert len({tuple(p) for p in points.tolist()}) == 2
    assert np.all(terrain[points[:, 0], points[:, 1]] == Tile.EMPTY)
    np.testing.assert_array_equal(obs[:, 2, 2, 1], [Unit.SELF] * 4)


def test_global_state_is_the_full_map(key):
    obs, state = RESET(key)
    global_state = np.asarray(ENV.global_state(state, obs)).reshape(7, 7, 3)
    assert global_state[2, 0, 1] == Unit.ALLY and global_state[2, 6, 1] == Unit.ENEMY
    assert int(np.sum(global_state[..., 1] > 0)) == 4


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("view_size", 10),
        ("team_size", -1),
        ("team_size", 41),
        ("num_control_points", -2),
        ("control_band_height", 39),
        ("dig_timeout", -1),
        ("wall_density", 2.0),
    ],
)
def test_bad_settings_are_config_errors(setting, value):
    with pytest.raises(ConfigError, match=setting):
        make("king_of_the_hill", **{setting: value})


def test_too_many_points_for_the_band_is_a_config_error():
    with pytest.raises(ConfigError, match="num_control_points"):
        make(
            "king_of_the_hill",
            width=5,
            height=5,
            team_size=2,
            control_band_height=1,
            num_control_points=6,
        )
