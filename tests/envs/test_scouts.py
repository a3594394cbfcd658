"""Scouts: hand-checked harvester timing, flag unlocking and clearing, views."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.grid.tiles import Action, Tile, Unit
from marlax.envs.scouts import Scouts, State
from marlax.errors import ConfigError

E, W, F, U = Tile.EMPTY, Tile.WALL, Tile.FLAG, Tile.FLAG_UNLOCKED
ENV = Scouts(width=7, height=7, num_scouts=1, num_harvesters=1, num_flags=3, view_size=5)
STEP = jax.jit(ENV.step)
RESET = jax.jit(ENV.reset)


def _terrain(**cells: int) -> np.ndarray:
    """A 7x7 map: WALL border, EMPTY inside, plus cells given as x{X}y{Y}=tile."""
    terrain = np.full((7, 7), E, np.int8)
    terrain[[0, -1], :] = W
    terrain[:, [0, -1]] = W
    for name, tile in cells.items():
        terrain[int(name[1]), int(name[3])] = tile
    return terrain


def _state(terrain, positions, step: int = 0) -> State:
    """Agent 0 is the scout, agent 1 the harvester."""
    return State(
        terrain=jnp.asarray(terrain, jnp.int8),
        positions=jnp.asarray(positions, jnp.int32),
        step=jnp.asarray(step, jnp.int32),
    )


def _step(state: State, actions):
    return STEP(jax.random.key(0), state, jnp.asarray(actions, jnp.int32))


def test_clock_starts_at_zero_and_harvesters_may_move_first(key):
    _, state = RESET(key)
    assert int(state.step) == 0
    assert bool(ENV.action_mask(state).all())


def test_harvester_moves_only_every_sixth_step_scout_every_step():
    state = _state(_terrain(), [[1, 1], [5, 1]])
    harvester_moves, scout_moves = [], []
    for step_index in range(13):
        scout_action = Action.UP if step_index % 8 < 4 else Action.DOWN
        mask = ENV.action_mask(state)
        assert bool(mask[0].all())
        assert bool(mask[1].all()) == (step_index % 6 == 0)
        _, after, _, _, _ = _step(state, [scout_action, Action.UP])
        moved = np.any(np.asarray(after.positions) != np.asarray(state.positions), axis=1)
        scout_moves.append(bool(moved[0]))
        if moved[1]:
            harvester_moves.append(step_index)
        state = after
    assert harvester_moves == [0, 6, 12]
    assert all(scout_moves)
    assert state.positions[1].tolist() == [5, 4]


def test_harvester_unlocks_a_flag_then_a_scout_clears_it():
    state = _state(_terrain(x3y2=F), [[2, 4], [3, 1]])
    _, state, reward, _, _ = _step(state, [Action.STAY, Action.UP])
    assert reward.tolist() == [0.0, 1.0] and int(state.terrain[3, 2]) == U
    assert state.positions[1].tolist() == [3, 2]
    _, state, reward, _, _ = _step(state, [Action.DOWN, Action.STAY])  # scout to (2, 3)
    assert reward.tolist() == [0.0, 0.0]
    _, state, reward, _, _ = _step(state, [Action.DOWN, Action.STAY])  # scout to (2, 2)
    _, state, reward, _, _ = _step(state, [Action.RIGHT, Action.STAY])  # scout enters (3, 2)
    assert reward.tolist() == [1.0, 0.0] and int(state.terrain[3, 2]) == E
    assert state.positions.tolist() == [[3, 2], [3, 2]]


def test_scout_on_locked_flag_and_harvester_on_unlocked_flag_get_nothing():
    terrain = _terrain(x2y1=F, x4y1=U)
    state = _state(terrain, [[1, 1], [5, 1]])
    _, after, reward, _, _ = _step(state, [Action.RIGHT, Action.LEFT])
    assert reward.tolist() == [0.0, 0.0]
    np.testing.assert_array_equal(after.terrain, terrain)
    assert after.positions.tolist() == [[2, 1], [4, 1]], "flags do not block"


def test_walls_block_and_non_moves_stay():
    state = _state(_terrain(x2y1=W), [[1, 1], [5, 5]])
    for actions in ([Action.RIGHT, Action.UP], [Action.STAY, Action.ATTACK], [Action.DIG] * 2):
        _, after, _, _, _ = _step(state, actions)
        assert after.positions.tolist() == [[1, 1], [5, 5]]


def test_egocentric_view_shows_roles():
    state = _state(_terrain(x2y2=F), [[1, 1], [2, 1]])
    obs = ENV.observe(state)
    assert obs.shape == (2, 5, 5, 3)
    # scout at (1, 1): off-map cells at dx or dy = -2, border at -1
    assert np.all(obs[0, 0, :, 0] == W) and np.all(obs[0, :, 0, 0] == W)
    assert int(obs[0, 3, 3, 0]) == F and int(obs[0, 2, 2, 0]) == E
    assert int(obs[0, 2, 2, 1]) == Unit.SELF and int(obs[0, 3, 2, 1]) == Unit.HARVESTER
    assert int(obs[1, 2, 2, 1]) == Unit.SELF and int(obs[1, 1, 2, 1]) == Unit.SCOUT
    assert int(np.count_nonzero(obs[0, :, :, 1])) == 2
    assert np.all(obs[0, :, :, 2] == Unit.SCOUT) and np.all(obs[1, :, :, 2] == Unit.HARVESTER)


def test_reset_places_flags_and_agents_on_free_cells(key):
    for reset_key in jax.random.split(key, 4):
        _, state = RESET(reset_key)
        terrain = np.asarray(state.terrain)
        assert np.all(terrain[[0, -1], :] == W) and np.all(terrain[:, [0, -1]] == W)
        assert np.all(np.isin(terrain, [E, W, F])) and np.sum(terrain == F) == 3
        cells = np.asarray(state.positions)
        assert np.all(terrain[cells[:, 0], cells[:, 1]] == E)
    assert ENV.roles().tolist() == [Unit.SCOUT, Unit.HARVESTER]
    assert Scouts(num_scouts=2, num_harvesters=3).roles().tolist() == (
        [Unit.SCOUT] * 2 + [Unit.HARVESTER] * 3
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"view_size": 4}, "view_size"),
        ({"width": 0}, "width"),
        ({"num_scouts": -1}, "num_scouts"),
        ({"num_harvesters": -2}, "num_harvesters"),
        ({"num_scouts": 0, "num_harvesters": 0}, "num_scouts"),
        ({"num_flags": -1}, "num_flags"),
        ({"width": 5, "height": 5, "num_flags": 8}, "num_flags"),
        ({"harvester_move_every": 0}, "harvester_move_every"),
    ],
)
def test_bad_settings_are_config_errors(params, field):
    with pytest.raises(ConfigError) as error:
        make("scouts", **params)
    assert error.value.field == field
