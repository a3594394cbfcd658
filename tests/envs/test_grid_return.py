"""Grid return: hand-checked digging, freezing, treasure and views on a tiny map."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.grid.tiles import Action, Tile, Unit
from marlax.envs.grid_return import GridReturn, State
from marlax.errors import ConfigError

E, W, D, T = Tile.EMPTY, Tile.WALL, Tile.DIGGABLE_WALL, Tile.TREASURE
ENV = GridReturn(width=7, height=7, num_agents=2, view_size=5, max_steps=50)
STEP = jax.jit(ENV.step)
RESET = jax.jit(ENV.reset)
TELEPORT = np.array([[1, 5], [3, 5], [5, 5]], np.int32)


def _terrain(**cells: int) -> np.ndarray:
    """A 7x7 map: WALL border, EMPTY inside, plus cells given as x{X}y{Y}=tile."""
    terrain = np.full((7, 7), E, np.int8)
    terrain[[0, -1], :] = W
    terrain[:, [0, -1]] = W
    for name, tile in cells.items():
        x, y = int(name[1]), int(name[3])
        terrain[x, y] = tile
    return terrain


def _state(terrain, positions, facing=(0, 0), frozen=(0, 0)) -> State:
    return State(
        terrain=jnp.asarray(terrain, jnp.int8),
        positions=jnp.asarray(positions, jnp.int32),
        facing=jnp.asarray(facing, jnp.int32),
        frozen=jnp.asarray(frozen, jnp.int32),
        teleport_cells=jnp.asarray(TELEPORT),
        step=jnp.zeros((), jnp.int32),
    )


def _step(state: State, actions, seed: int = 0):
    return STEP(jax.random.key(seed), state, jnp.asarray(actions, jnp.int32))


def test_dig_freezes_for_exactly_dig_time_steps():
    state = _state(_terrain(x3y3=D, x5y1=T), [[2, 3], [5, 4]])
    _, state, reward, _, _ = _step(state, [Action.RIGHT, Action.STAY])
    assert int(state.terrain[3, 3]) == E, "the dug wall is gone"
    assert state.positions[0].tolist() == [2, 3], "digging does not move the digger"
    assert int(state.frozen[0]) == 5 and reward.tolist() == [0.0, 0.0]
    for step_after_dig in range(1, 6):
        mask = ENV.action_mask(state)
        assert mask[0].tolist() == [a == Action.STAY for a in range(7)]
        assert bool(mask[1].all())
        _, state, _, _, _ = _step(state, [Action.RIGHT, Action.STAY], seed=step_after_dig)
        assert state.positions[0].tolist() == [2, 3], f"moved {step_after_dig} steps after dig"
    assert int(state.frozen[0]) == 0 and bool(ENV.action_mask(state).all())
    _, state, _, _, _ = _step(state, [Action.RIGHT, Action.STAY])
    assert state.positions[0].tolist() == [3, 3], "moves on the 6th step after the dig"


def test_border_walls_cannot_be_dug_or_entered():
    state = _state(_terrain(x5y1=T), [[1, 3], [5, 5]], facing=[Action.LEFT, Action.UP])
    for actions in ([Action.LEFT, Action.UP], [Action.DIG, Action.DIG]):
        _, after, _, _, _ = _step(state, actions)
        np.testing.assert_array_equal(after.terrain, state.terrain)
        assert after.positions.tolist() == [[1, 3], [5, 5]]
        assert after.frozen.tolist() == [0, 0], "bumping a permanent wall does not freeze"


def test_treasure_pays_one_to_the_finder_only_and_teleports_it():
    terrain = _terrain(x5y1=T)
    state = _state(terrain, [[4, 1], [5, 2]])
    for seed in range(4):
        _, after, reward, _, _ = _step(state, [Action.RIGHT, Action.STAY], seed=seed)
        assert reward.tolist() == [1.0, 0.0]
        landed = after.positions[0].tolist()
        assert landed in TELEPORT.tolist() and int(after.terrain[tuple(landed)]) == E
        assert after.positions[1].tolist() == [5, 2]
        np.testing.assert_array_equal(after.terrain, terrain)  # the treasure stays put


def test_two_agents_entering_the_treasure_both_score():
    state = _state(_terrain(x5y1=T), [[4, 1], [5, 2]])
    _, _, reward, _, _ = _step(state, [Action.RIGHT, Action.DOWN])
    assert reward.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("action", [Action.STAY, Action.ATTACK, Action.DIG])
def test_stay_attack_dig_never_move(action, key):
    state = _state(_terrain(x3y4=D, x5y1=T), [[3, 3], [1, 1]], facing=[Action.UP, Action.LEFT])
    _, after, reward, _, _ = _step(state, [action, action])
    assert after.positions.tolist() == [[3, 3], [1, 1]] and reward.tolist() == [0.0, 0.0]
    dug = action == Action.DIG
    assert int(after.terrain[3, 4]) == (E if dug else D), "DIG digs the faced wall only"
    assert after.frozen.tolist() == ([5, 0] if dug else [0, 0])
    # and on random maps, whatever the agents face
    _, random_state = RESET(key)
    _, after, _, _, _ = _step(random_state, [action, action])
    np.testing.assert_array_equal(after.positions, random_state.positions)


def test_egocentric_view_known_values():
    state = _state(_terrain(x2y1=D, x3y2=T), [[1, 1], [2, 2]])
    obs = ENV.observe(state)
    assert obs.shape == (2, 5, 5, 2)
    # agent 0 at (1, 1): view cell [2 + dx, 2 + dy] is map cell (1 + dx, 1 + dy)
    expected_tiles = np.full((5, 5), W)  # off-map cells (dx or dy = -2) and the border
    expected_tiles[2:, 2:] = E
    expected_tiles[3, 2] = D  # (2, 1)
    expected_tiles[4, 3] = T  # (3, 2)
    np.testing.assert_array_equal(obs[0, :, :, 0], expected_tiles)
    expected_units = np.zeros((5, 5))
    expected_units[2, 2] = Unit.SELF
    expected_units[3, 3] = Unit.AGENT  # agent 1 at offset (+1, +1)
    np.testing.assert_array_equal(obs[0, :, :, 1], expected_units)
    # agent 1 sees agent 0 at offset (-1, -1) and itself at the centre
    assert int(obs[1, 1, 1, 1]) == Unit.AGENT and int(obs[1, 2, 2, 1]) == Unit.SELF
    assert int(obs[1, 3, 2, 0]) == T and int(obs[1, 0, 2, 0]) == W


def test_reset_builds_a_playable_map(key):
    for reset_key in jax.random.split(key, 4):
        obs, state = RESET(reset_key)
        terrain = np.asarray(state.terrain)
        assert np.all(terrain[[0, -1], :] == W) and np.all(terrain[:, [0, -1]] == W)
        assert np.all(np.isin(terrain[1:-1, 1:-1], [E, D, T])) and np.sum(terrain == T) == 1
        cells = np.asarray(state.teleport_cells)
        assert len(cells) == ENV.num_teleport_cells == 24  # all inner cells but the treasure
        assert len({tuple(cell) for cell in cells}) == len(cells)
        assert np.all(terrain[cells[:, 0], cells[:, 1]] == E)
        np.testing.assert_array_equal(state.positions, cells[:2])
        assert np.all(obs[:, 2, 2, 1] == Unit.SELF) and int(state.step) == 0
        assert state.frozen.tolist() == [0, 0] and state.facing.tolist() == [Action.UP] * 2


def test_packed_map_still_has_room_for_everyone():
    # 4 inner cells for 3 agents and the treasure, on a map drawn almost all wall
    packed = GridReturn(width=4, height=4, num_agents=3, view_size=3, wall_density=0.99)
    reset = jax.jit(packed.reset)
    for seed in range(3):
        _, state = reset(jax.random.key(seed))
        assert sorted(np.asarray(state.terrain[1:3, 1:3]).ravel().tolist()) == [E, E, E, T]
        assert len({tuple(cell) for cell in state.positions.tolist()}) == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"view_size": 10}, "view_size"),
        ({"width": 0}, "width"),
        ({"height": 2}, "height"),
        ({"num_agents": -1}, "num_agents"),
        ({"num_agents": 0}, "num_agents"),
        ({"width": 4, "height": 4, "num_agents": 4}, "num_agents"),
        ({"dig_time": -1}, "dig_time"),
        ({"wall_density": 1.0}, "wall_density"),
    ],
)
def test_bad_settings_are_config_errors(params, field):
    with pytest.raises(ConfigError) as error:
        make("grid_return", **params)
    assert error.value.field == field
