"""Energy-flow world: hand-computed fields, absorption, conservation, moves, observations."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.energy_flow import EnergyFlow, State
from marlax.envs.energy_flow.constants import Action, Channel
from marlax.envs.energy_flow.dynamics import absorb, move_agents
from marlax.envs.energy_flow.generator import pathway_flow, radiation_field
from marlax.envs.energy_flow.render import AGENT_COLOR, SOURCE_COLOR
from marlax.errors import ConfigError
from tests.envs.helpers import random_actions

WIDTH, HEIGHT = 6, 5


def _state(cell_energy, agent_positions, agent_energy, supply=None) -> State:
    cell_energy = jnp.asarray(cell_energy, jnp.float32)
    return State(
        cell_energy=cell_energy,
        supply=jnp.zeros_like(cell_energy) if supply is None else jnp.asarray(supply),
        source_positions=jnp.asarray([[0, 0]], jnp.int32),
        source_strengths=jnp.asarray([1.0], jnp.float32),
        pathway_mask=jnp.zeros(cell_energy.shape, bool),
        agent_positions=jnp.asarray(agent_positions, jnp.int32),
        agent_energy=jnp.asarray(agent_energy, jnp.float32),
        step=jnp.asarray(0, jnp.int32),
    )


def test_radiation_of_one_source_by_hand():
    field = radiation_field(
        jnp.asarray([[2, 3]]), jnp.asarray([10.0]), decay=0.5, width=WIDTH, height=HEIGHT
    )
    assert field.shape == (WIDTH, HEIGHT)
    assert float(field[2, 3]) == 10.0  # the source's own cell
    assert float(field[4, 1]) == pytest.approx(10.0 * 0.5**4)  # |4-2| + |1-3| = 4
    assert float(field[0, 0]) == pytest.approx(10.0 * 0.5**5)
    assert float(field[5, 4]) == pytest.approx(10.0 * 0.5**4)


def test_two_sources_add_up():
    field = radiation_field(
        jnp.asarray([[0, 0], [5, 4]]), jnp.asarray([8.0, 2.0]), decay=0.5, width=6, height=5
    )
    assert float(field[1, 1]) == pytest.approx(8.0 * 0.25 + 2.0 * 0.5**7)


@pytest.mark.parametrize(
    ("horizontal_first", "expected_cells"),
    [
        (True, {(2, 1): 4.0, (3, 1): 2.0, (4, 1): 1.0, (4, 2): 0.5, (4, 3): 0.25}),
        (False, {(1, 2): 4.0, (1, 3): 2.0, (2, 3): 1.0, (3, 3): 0.5, (4, 3): 0.25}),
    ],
)
def test_pathway_dissipates_along_its_length_by_hand(horizontal_first, expected_cells):
    # strength 8 from (1, 1) to (4, 3), halving per cell; the source cell gets nothing
    flow, mask = pathway_flow(
        jnp.asarray([[1, 1]]),
        jnp.asarray([8.0]),
        jnp.asarray([[4, 3]]),
        jnp.asarray([horizontal_first]),
        dissipation=0.5,
        width=WIDTH,
        height=HEIGHT,
    )
    expected = np.zeros((WIDTH, HEIGHT), np.float32)
    for (x, y), value in expected_cells.items():
        expected[x, y] = value
    np.testing.assert_allclose(flow, expected, rtol=1e-6)
    np.testing.assert_array_equal(mask, expected > 0)


def test_straight_pathway_and_empty_pathway():
    flow, mask = pathway_flow(
        jnp.asarray([[0, 2], [3, 3]]),
        jnp.asarray([1.0, 5.0]),
        jnp.asarray([[0, 4], [3, 3]]),  # straight up; ends on its own source: empty
        jnp.asarray([True, False]),
        dissipation=0.9,
        width=WIDTH,
        height=HEIGHT,
    )
    assert set(zip(*np.nonzero(np.asarray(mask)), strict=True)) == {(0, 3), (0, 4)}
    assert float(flow[0, 3]) == pytest.approx(0.9) and float(flow[0, 4]) == pytest.approx(0.81)


def test_absorption_of_a_lone_agent_by_hand_inside_and_at_a_corner():
    energy = jnp.arange(WIDTH * HEIGHT, dtype=jnp.float32).reshape(WIDTH, HEIGHT)
    result = absorb(energy, jnp.zeros(2), jnp.asarray([[2, 2], [0, 0]]), 0.5, 1000.0)
    inner = 0.5 * (energy[2, 2] + energy[1, 2] + energy[3, 2] + energy[2, 3] + energy[2, 1])
    corner = 0.5 * (energy[0, 0] + energy[1, 0] + energy[0, 1])  # off-map cells give nothing
    np.testing.assert_allclose(result.absorbed, [inner, corner], rtol=1e-6)
    np.testing.assert_allclose(result.agent_energy, result.absorbed)
    np.testing.assert_allclose(result.cell_energy[0, 0], 0.5 * energy[0, 0])
    np.testing.assert_allclose(result.cell_energy[5, 4], energy[5, 4])  # out of reach


def test_absorption_is_capped_exactly_at_agent_capacity():
    energy = jnp.full((WIDTH, HEIGHT), 40.0)
    # offer = 0.5 * 5 * 40 = 100, but only 7.5 of room is left
    result = absorb(energy, jnp.asarray([992.5]), jnp.asarray([[2, 2]]), 0.5, 1000.0)
    assert float(result.agent_energy[0]) == 1000.0
    assert float(result.absorbed[0]) == 7.5
    np.testing.assert_allclose(result.removed.sum(), 7.5, rtol=1e-6)
    # every reachable cell gave up the same 7.5 / 5, the rest stays
    np.testing.assert_allclose(result.cell_energy[2, 2], 40.0 - 1.5, rtol=1e-6)
    full = absorb(energy, jnp.asarray([1000.0]), jnp.asarray([[2, 2]]), 0.5, 1000.0)
    assert float(full.absorbed[0]) == 0.0
    np.testing.assert_array_equal(full.cell_energy, energy)


def test_two_agents_on_one_cell_split_fairly():
    energy = jax.random.uniform(jax.random.key(1), (WIDTH, HEIGHT), maxval=10.0)
    alone = absorb(energy, jnp.zeros(1), jnp.asarray([[3, 1]]), 0.4, 1000.0)
    pair = absorb(energy, jnp.zeros(2), jnp.asarray([[3, 1], [3, 1]]), 0.4, 1000.0)
    np.testing.assert_allclose(pair.absorbed, [alone.absorbed[0] / 2] * 2, rtol=1e-6)
    np.testing.assert_allclose(pair.cell_energy, alone.cell_energy, rtol=1e-6, atol=1e-6)


def test_neighbours_share_the_cells_they_both_reach():
    # uniform 8, rate 0.5: cells (1,1) and (2,1) are reached by both agents
    energy = jnp.full((4, 3), 8.0)
    result = absorb(energy, jnp.zeros(2), jnp.asarray([[1, 1], [2, 1]]), 0.5, 1000.0)
    # each: 4 * (1/2 + 1/2 + 1 + 1 + 1) = 16
    np.testing.assert_allclose(result.absorbed, [16.0, 16.0])
    np.testing.assert_allclose(result.removed[1, 1], 4.0)
    np.testing.assert_allclose(result.removed.sum(), 32.0)


def test_absorption_conserves_energy_for_random_crowds():
    def _one(key):
        energy_key, stored_key, position_key = jax.random.split(key, 3)
        energy = jax.random.uniform(energy_key, (4, 3), maxval=50.0)
        stored = jax.random.uniform(stored_key, (5,), minval=900.0, maxval=1000.0)
        positions = jax.random.randint(position_key, (5, 2), 0, jnp.asarray([[4, 3]]))
        return energy, stored, absorb(energy, stored, positions, 0.8, 1000.0)

    energy, stored, result = jax.vmap(_one)(jax.random.split(jax.random.key(0), 64))
    np.testing.assert_allclose(
        (energy - result.cell_energy).sum(axis=(1, 2)), result.absorbed.sum(axis=1), atol=1e-3
    )
    np.testing.assert_allclose(result.agent_energy - stored, result.absorbed, atol=1e-4)
    assert bool(jnp.all(result.agent_energy <= 1000.0))
    assert bool(jnp.all(result.cell_energy >= 0.0))
    assert bool(jnp.all(result.removed <= 0.8 * energy + 1e-4))  # a cell offers 80% at most
    assert bool(jnp.any(result.agent_energy == 1000.0)), "the cap never bound: weak test"


def test_env_conserves_energy_and_rewards_what_was_absorbed():
    # a capacity that never binds makes replenishment invertible:
    # E_after = (1 - leak) * (E_before - removed) + supply
    env = EnergyFlow(
        width=WIDTH,
        height=HEIGHT,
        num_agents=3,
        cell_capacity=1e6,
        agent_capacity=50.0,
        metabolism=0.5,
        max_steps=50,
    )
    _, state = env.reset(jax.random.key(2))

    def _body(state, key):
        action_key, step_key = jax.random.split(key)
        actions = random_actions(action_key, env, state)
        _, new_state, reward, _, info = env.step(step_key, state, actions)
        removed = state.cell_energy - (new_state.cell_energy - state.supply) / (1 - env.cell_leak)
        gained = new_state.agent_energy - jnp.maximum(state.agent_energy - env.metabolism, 0.0)
        return new_state, (removed.sum(), reward, gained, info["energy_removed"])

    state, (removed, reward, gained, reported) = jax.lax.scan(
        jax.jit(_body), state, jax.random.split(jax.random.key(3), 40)
    )
    np.testing.assert_allclose(removed, reward.sum(axis=1), atol=2e-3)
    np.testing.assert_allclose(reported, reward.sum(axis=1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gained, reward, atol=1e-5)
    assert float(reward.sum()) > 1.0, "nobody absorbed anything: weak test"
    assert bool(jnp.all(state.agent_energy <= 50.0))


def test_reward_by_hand_for_a_lone_agent_moving_right():
    env = EnergyFlow(
        width=WIDTH, height=HEIGHT, num_agents=1, metabolism=0.0, absorb_rate=0.5, max_steps=50
    )
    energy = jnp.arange(WIDTH * HEIGHT, dtype=jnp.float32).reshape(WIDTH, HEIGHT) / 4.0
    state = _state(energy, [[1, 2]], [0.0])
    _, state, reward, _, _ = env.step(jax.random.key(0), state, jnp.asarray([Action.RIGHT]))
    assert state.agent_positions.tolist() == [[2, 2]]
    expected = 0.5 * (energy[2, 2] + energy[1, 2] + energy[3, 2] + energy[2, 3] + energy[2, 1])
    np.testing.assert_allclose(reward, [expected], rtol=1e-6)
    np.testing.assert_allclose(state.agent_energy, [expected], rtol=1e-6)


def test_moves_follow_action_ids_and_are_blocked_at_the_edge():
    positions = jnp.asarray([[0, 0]] * 5 + [[5, 4]] * 5 + [[2, 2]] * 5)
    actions = jnp.asarray([0, 1, 2, 3, 4] * 3)
    moved = move_agents(positions, actions, WIDTH, HEIGHT).tolist()
    # wait, left, right, up (y+1), down (y-1)
    assert moved[0:5] == [[0, 0], [0, 0], [1, 0], [0, 1], [0, 0]]
    assert moved[5:10] == [[5, 4], [4, 4], [5, 4], [5, 4], [5, 3]]
    assert moved[10:15] == [[2, 2], [1, 2], [3, 2], [2, 3], [2, 1]]


def test_observation_channels_by_hand():
    env = EnergyFlow(
        width=WIDTH,
        height=HEIGHT,
        num_agents=3,
        view_size=3,
        cell_capacity=10.0,
        agent_capacity=100.0,
        max_steps=50,
    )
    energy = jnp.zeros((WIDTH, HEIGHT)).at[0, 0].set(5.0).at[1, 1].set(10.0)
    supply = jnp.zeros((WIDTH, HEIGHT)).at[1, 0].set(2.0).at[0, 1].set(30.0)
    state = _state(energy, [[0, 0], [1, 1], [1, 1]], [25.0, 0.0, 100.0], supply)
    obs = np.asarray(env._observe(state))
    assert obs.shape == (3, 3, 3, 5) and obs.dtype == np.float32
    first = obs[0]  # agent at the corner (0, 0): view[1 + dx, 1 + dy]
    assert first[1, 1, Channel.ENERGY] == 0.5 and first[2, 2, Channel.ENERGY] == 1.0
    assert (
        first[2, 1, Channel.SUPPLY] == pytest.approx(0.2) and first[1, 2, Channel.SUPPLY] == 1.0
    )  # clipped
    np.testing.assert_array_equal(first[:, :, Channel.OFF_MAP], [[1, 1, 1], [1, 0, 0], [1, 0, 0]])
    assert first[2, 2, Channel.OTHERS] == pytest.approx(2 / 3)
    assert first[1, 1, Channel.OTHERS] == 0.0
    assert obs[1, 1, 1, Channel.OTHERS] == pytest.approx(1 / 3)  # sees its cell-mate only
    np.testing.assert_allclose(
        obs[:, :, :, Channel.STORED],
        np.ones((3, 3, 3)) * np.asarray([0.25, 0.0, 1.0])[:, None, None],
    )
    assert env.observation_space.contains(obs)


def test_reset_builds_a_consistent_world():
    env = EnergyFlow(
        width=WIDTH, height=HEIGHT, num_sources=5, num_pathways=3, num_agents=4, max_steps=50
    )
    _, state = jax.jit(env.reset)(jax.random.key(4))
    sources = {tuple(p) for p in state.source_positions.tolist()}
    assert len(sources) == 5, "sources must sit on distinct cells"
    assert len({tuple(p) for p in state.agent_positions.tolist()}) == 4
    strengths = np.asarray(state.source_strengths)
    assert np.all((strengths >= env.min_strength) & (strengths <= env.max_strength))
    radiation = radiation_field(
        state.source_positions, state.source_strengths, env.radiation_decay, WIDTH, HEIGHT
    )
    off_path = ~np.asarray(state.pathway_mask)
    np.testing.assert_allclose(
        np.asarray(state.supply)[off_path], np.asarray(radiation)[off_path], rtol=1e-6
    )
    assert np.all(np.asarray(state.supply) >= np.asarray(radiation) - 1e-6)
    resting = np.minimum(np.asarray(state.supply) / env.cell_leak, env.cell_capacity)
    np.testing.assert_allclose(state.cell_energy, resting, rtol=1e-6)
    np.testing.assert_array_equal(state.agent_energy, np.zeros(4))


def test_render_marks_sources_and_agents():
    env = EnergyFlow(width=WIDTH, height=HEIGHT, num_agents=1, max_steps=50)
    state = _state(jnp.zeros((WIDTH, HEIGHT)).at[5, 0].set(10.0), [[2, 3]], [0.0])
    image = np.asarray(jax.jit(env.render)(state))
    px = image.shape[1] // WIDTH
    assert px % 16 == 0
    assert image.shape == (HEIGHT * px, WIDTH * px, 3) and image.dtype == np.uint8

    def _centre(x, y):  # image rows run from y = H - 1 down to 0
        return image[(HEIGHT - 1 - y) * px + px // 2, x * px + px // 2]

    np.testing.assert_array_equal(_centre(0, 0), SOURCE_COLOR)
    np.testing.assert_array_equal(_centre(2, 3), AGENT_COLOR)
    assert _centre(5, 0).sum() > 3 * _centre(4, 0).sum()  # a full cell glows, an empty one not


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("width", 0),
        ("num_agents", 0),
        ("num_sources", 0),
        ("num_sources", 401),  # more sources than the 20 x 20 cells
        ("num_pathways", -1),
        ("view_size", 4),
        ("max_steps", -1),
        ("min_strength", 0.0),
        ("max_strength", 1.0),  # below min_strength
        ("radiation_decay", 1.0),
        ("pathway_dissipation", 1.5),
        ("cell_capacity", -1.0),
        ("cell_leak", 1.0),
        ("absorb_rate", 0.0),
        ("agent_capacity", float("inf")),
        ("metabolism", -0.5),
        ("metabolism", "1"),
    ],
)
def test_bad_settings_raise_config_error(setting, value):
    with pytest.raises(ConfigError, match=setting):
        make("energy_flow", **{setting: value})
