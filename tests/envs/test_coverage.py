"""coverage: hand-checked rules, an O(N^2) NumPy reference step, layout invariants, no N^2."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import list_envs, make
from marlax.envs.coverage import Coverage
from marlax.envs.coverage.constants import MOVES
from marlax.envs.simple_spread import SimpleSpread
from marlax.envs.simple_spread import State as SpreadState
from marlax.errors import ConfigError
from tests.envs.test_neighbours import largest_intermediate

# simple_spread's set-up: 3 agents and 3 targets in [-1, 1]^2, everything in view
SPREAD_LIKE = Coverage(num_agents=3, num_targets=3, k_agents=2, k_targets=3, view_radius=3.0)
STEP = jax.jit(SPREAD_LIKE.step)
MAKE_STATE = jax.jit(SPREAD_LIKE.make_state)
NO_OP = jnp.zeros(3, jnp.int32)
FAR_TARGETS = [[-0.9, -0.9], [0.9, -0.9], [-0.9, 0.9]]
# many agents, dense enough to collide within a few random steps, capacities 1 or 2
DENSE = Coverage(num_agents=200, num_targets=150, max_capacity=2, area_per_agent=0.5)
DENSE_RESET = jax.jit(DENSE.reset)


def _step_layout(agent_pos, target_pos=FAR_TARGETS, capacity=(1, 1, 1), agent_vel=None):
    state = MAKE_STATE(jnp.asarray(agent_pos), jnp.asarray(target_pos), jnp.asarray(capacity))
    if agent_vel is not None:
        state = state.replace(agent_vel=jnp.asarray(agent_vel, jnp.float32))
    return STEP(jax.random.key(0), state, NO_OP)


def test_registered_for_the_conformance_suite():
    assert "coverage" in list_envs()
    env = make("coverage")
    assert isinstance(env, Coverage) and env.num_agents == 8 and env.num_targets == 8


def test_arena_side_grows_with_the_square_root_of_n():
    assert SPREAD_LIKE.arena_side == pytest.approx(2.0)  # simple_spread's [-1, 1]^2
    big = Coverage(num_agents=1200, num_targets=1200)
    assert big.arena_side == pytest.approx(40.0)  # 1200 agents * 4/3 = 1600 = 40^2


def test_a_target_counts_once_however_many_agents_cover_it():
    # three agents within 0.25 of target 0, 0.34 apart (no collision)
    agents = [[0.2, 0.0], [-0.1, 0.17], [-0.1, -0.17]]
    targets = [[0.0, 0.0], [0.9, -0.9], [-0.9, 0.9]]
    _, state, reward, _, info = _step_layout(agents, targets)
    np.testing.assert_array_equal(state.covered, [True, False, False])
    np.testing.assert_allclose(reward, [1 / 3] * 3, atol=1e-6)
    assert float(info["covered_fraction"]) == pytest.approx(1 / 3)
    assert float(info["colliding_pairs"]) == 0.0


def test_a_capacity_two_target_needs_two_agents():
    targets = [[0.0, 0.0], [0.9, -0.9], [-0.9, 0.9]]
    one = [[0.2, 0.0], [0.9, 0.9], [-0.9, -0.2]]
    _, state, reward, _, _ = _step_layout(one, targets, capacity=(2, 1, 1))
    np.testing.assert_array_equal(state.covered, [False, False, False])
    np.testing.assert_allclose(reward, [0.0] * 3, atol=1e-6)
    two = [[0.2, 0.0], [-0.15, 0.1], [-0.9, -0.2]]  # 0.36 apart, both within 0.25
    _, state, reward, _, _ = _step_layout(two, targets, capacity=(2, 1, 1))
    np.testing.assert_array_equal(state.covered, [True, False, False])
    np.testing.assert_allclose(reward, [1 / 3] * 3, atol=1e-6)


def test_a_collision_costs_once_per_pair_and_pushes_apart():
    _, state, reward, _, info = _step_layout([[0.0, 0.0], [0.2, 0.0], [0.9, 0.9]])
    assert float(info["colliding_pairs"]) == 1.0
    np.testing.assert_allclose(reward, [-1 / 3] * 3, atol=1e-6)  # penalty 1 * 1 pair / 3
    assert float(state.agent_vel[0, 0]) < 0 < float(state.agent_vel[1, 0])
    # three agents all touching: 3 pairs (a per-agent count would say 6)
    _, _, reward, _, info = _step_layout([[0.0, 0.0], [0.2, 0.0], [0.1, 0.15]])
    assert float(info["colliding_pairs"]) == 3.0
    np.testing.assert_allclose(reward, [-1.0] * 3, atol=1e-6)


def test_observation_of_a_hand_placed_layout():
    agents = [[0.0, 0.0], [0.5, 0.0], [-0.6, 0.8]]
    targets = [[0.1, 0.0], [0.5, -0.5], [-0.9, -0.9]]
    state = MAKE_STATE(jnp.asarray(agents), jnp.asarray(targets), jnp.asarray([1, 2, 1]))
    state = state.replace(agent_vel=jnp.asarray([[0.2, -0.1], [0.0, 0.0], [0.0, 0.0]]))
    obs = SPREAD_LIKE.observe(state)
    # target 0 is covered by agent 0 (0.1 away); target 1 needs 2 agents; agent 1 is 0.5
    # from target 1 and agent 2 is 1.0 from agent 0
    expected = [0.2, -0.1, 0.0, 0.0]  # own velocity, own position / h (h = 1)
    expected += [0.1, 0.0, 1, 1, 1, 0.5, -0.5, 2, 0, 1, -0.9, -0.9, 1, 0, 1]  # targets
    expected += [0.5, 0.0, 1, -0.6, 0.8, 1]  # agents, nearest first
    np.testing.assert_allclose(obs[0], expected, atol=1e-6)
    assert obs.shape == (3, SPREAD_LIKE.obs_dim) == (3, 25)
    # a shorter view leaves empty (all-zero) slots: target 2 and agent 2 are out of range
    near_sighted = Coverage(num_agents=3, num_targets=3, k_agents=2, k_targets=3, view_radius=0.8)
    obs = near_sighted.observe(state)
    np.testing.assert_allclose(obs[0, 14:19], 0.0)
    np.testing.assert_allclose(obs[0, 19:], [0.5, 0.0, 1, 0, 0, 0], atol=1e-6)


def test_tasks_positions_and_global_state():
    agents = [[0.0, 0.0], [0.5, 0.0], [-0.6, 0.8]]
    targets = [[0.1, 0.0], [0.5, -0.5], [-0.9, -0.9]]
    state = MAKE_STATE(jnp.asarray(agents), jnp.asarray(targets), jnp.asarray([1, 2, 1]))
    features, valid = SPREAD_LIKE.tasks(state)
    np.testing.assert_allclose(
        features, [[0.1, 0.0, 1, 1], [0.5, -0.5, 2, 0], [-0.9, -0.9, 1, 0]], atol=1e-6
    )
    assert valid.dtype == jnp.bool_ and bool(valid.all())
    np.testing.assert_allclose(SPREAD_LIKE.agent_positions(state), agents)
    global_state = SPREAD_LIKE.global_state(state, SPREAD_LIKE.observe(state))
    assert global_state.shape == (4 * 3 + 4 * 3,)  # O(N + M), not N x D
    np.testing.assert_allclose(global_state[:6], np.reshape(agents, -1))
    np.testing.assert_allclose(global_state[12:], np.reshape(features, -1))


def test_walls_stop_agents_and_keep_inward_velocity():
    agents = [[0.99, 0.0], [-0.99, 0.5], [0.0, -0.5]]
    velocity = [[1.0, 0.0], [-0.2, 0.0], [0.0, 0.0]]
    state = MAKE_STATE(jnp.asarray(agents), jnp.asarray(FAR_TARGETS), jnp.ones(3, jnp.int32))
    state = state.replace(agent_vel=jnp.asarray(velocity))
    _, state, *_ = STEP(jax.random.key(0), state, jnp.array([2, 2, 0]))  # right, right, no-op
    np.testing.assert_allclose(state.agent_pos[:2, 0], [1.0, -1.0])
    # agent 0 pushes out of the right wall: 0.75 + 0.5 -> 0; agent 1 pushes in: -0.15 + 0.5
    np.testing.assert_allclose(state.agent_vel[:2, 0], [0.0, 0.35], atol=1e-6)


def test_one_agent_moves_like_simple_spread():
    """Without walls or contacts, the dynamics are mpe2's, step for step."""
    coverage = Coverage(num_agents=1, num_targets=1, k_agents=0, k_targets=1, area_per_agent=400.0)
    spread = SimpleSpread(num_agents=1)
    start = jnp.array([[0.3, -0.2]])
    state = coverage.make_state(start, jnp.zeros((1, 2)))
    spread_state = SpreadState(
        agent_pos=start, agent_vel=jnp.zeros((1, 2)), landmark_pos=jnp.zeros((1, 2)), step=0
    )
    step, spread_step = jax.jit(coverage.step), jax.jit(spread.step)
    for action in [2, 2, 4, 1, 0, 3, 3, 4]:
        actions = jnp.array([action], jnp.int32)
        _, state, *_ = step(jax.random.key(0), state, actions)
        _, spread_state, *_ = spread_step(jax.random.key(0), spread_state, actions)
        np.testing.assert_allclose(state.agent_pos, spread_state.agent_pos, atol=1e-6)
        np.testing.assert_allclose(state.agent_vel, spread_state.agent_vel, atol=1e-6)


def _reference_step(env: Coverage, state, actions: np.ndarray):
    """One step in float64 NumPy with every pair (O(N^2)): (pos, vel) after the step."""
    pos, vel = np.asarray(state.agent_pos, np.float64), np.asarray(state.agent_vel, np.float64)
    half = env.half_side
    moved = pos + 0.1 * vel
    new_pos = np.clip(moved, -half, half)
    delta = new_pos[:, None, :] - new_pos[None, :, :]  # p_i - p_j
    distance = np.linalg.norm(delta, axis=-1)
    np.fill_diagonal(distance, np.inf)
    penetration = np.logaddexp(0.0, -(distance - 0.3) / 1e-3)
    force = 5.0 * MOVES[actions] + np.sum(delta * (0.1 * penetration / distance)[..., None], 1)
    new_vel = 0.75 * vel + 0.1 * force
    outward = ((moved >= half) & (new_vel > 0)) | ((moved <= -half) & (new_vel < 0))
    return new_pos, np.where(outward, 0.0, new_vel)


def _reference_score(env: Coverage, state):
    """(covered bool[M], colliding pairs, distances agent-agent, distances agent-target)."""
    pos = np.asarray(state.agent_pos, np.float64)
    targets = np.asarray(state.target_pos, np.float64)
    to_target = np.linalg.norm(pos[:, None, :] - targets[None, :, :], axis=-1)  # [N, M]
    near = np.sum(to_target <= env.cover_radius, axis=0)
    covered = near >= np.asarray(state.target_capacity)
    to_agent = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    np.fill_diagonal(to_agent, np.inf)
    return covered, np.sum(to_agent < 0.3) / 2, to_agent, to_target


def _reference_obs(env: Coverage, state, agent: int, to_agent, to_target) -> np.ndarray:
    pos = np.asarray(state.agent_pos, np.float64)
    own = pos[agent]
    row = [*np.asarray(state.agent_vel[agent]), *(own / env.half_side)]
    seen = [t for t in np.argsort(to_target[agent], kind="stable") if to_target[agent, t] <= 1.5]
    for slot in range(env.k_targets):
        if slot < len(seen):
            t = seen[slot]
            capacity = float(state.target_capacity[t])
            row += [*(state.target_pos[t] - own), capacity, float(state.covered[t]), 1.0]
        else:
            row += [0.0] * 5
    seen = [j for j in np.argsort(to_agent[agent], kind="stable") if to_agent[agent, j] <= 1.5]
    for slot in range(env.k_agents):
        row += [*(pos[seen[slot]] - own), 1.0] if slot < len(seen) else [0.0] * 3
    return np.asarray(row)


def test_grid_step_equals_an_all_pairs_reference():
    """200 agents, dense, capacities 1-2: dynamics, coverage, collisions and observations
    all equal a NumPy step that looks at every pair."""
    env = DENSE
    obs, state = DENSE_RESET(jax.random.key(1))
    step = jax.jit(env.step)
    seen_collision = seen_cover = False
    rng = np.random.default_rng(0)
    for step_index in range(5):
        actions = rng.integers(0, 5, env.num_agents)
        expected_pos, expected_vel = _reference_step(env, state, actions)
        obs, state, reward, _, info = step(jax.random.key(step_index), state, jnp.asarray(actions))
        np.testing.assert_allclose(state.agent_pos, expected_pos, atol=1e-5)
        np.testing.assert_allclose(state.agent_vel, expected_vel, atol=1e-4)
        covered, pairs, to_agent, to_target = _reference_score(env, state)
        np.testing.assert_array_equal(state.covered, covered)
        assert float(info["colliding_pairs"]) == pairs and int(info["dropped_agents"]) == 0
        np.testing.assert_allclose(reward, covered.mean() - pairs / env.num_agents, atol=1e-6)
        for agent in (0, 57, 199):
            np.testing.assert_allclose(
                obs[agent], _reference_obs(env, state, agent, to_agent, to_target), atol=1e-5
            )
        seen_collision |= pairs > 0
        seen_cover |= bool(covered.any())
    assert seen_collision and seen_cover, "the layout should exercise both rules"


def test_reset_layout_invariants():
    env = DENSE
    obs, state = DENSE_RESET(jax.random.key(2))
    half = env.half_side
    for points in (state.agent_pos, state.target_pos):
        assert bool(jnp.all(jnp.abs(points) <= half))
    covered, pairs, _, _ = _reference_score(env, state)
    assert pairs == 0, "agents start out of collision"
    np.testing.assert_array_equal(state.covered, covered)
    lattice = env.target_lattice
    cells = np.floor((np.asarray(state.target_pos) + half) / (2 * half / lattice)).astype(int)
    assert len({tuple(cell) for cell in cells}) == env.num_targets  # one target per cell
    assert set(np.asarray(state.target_capacity).tolist()) == {1, 2}
    assert bool(jnp.all(state.agent_vel == 0)) and int(state.step) == 0
    again, state_again = DENSE_RESET(jax.random.key(2))
    np.testing.assert_array_equal(obs, again)
    np.testing.assert_array_equal(state.target_pos, state_again.target_pos)


def test_render_draws_targets_by_coverage_and_agents_on_top():
    agents = [[0.5, 0.5], [0.5, -0.3], [-0.9, 0.9]]
    targets = [[-0.5, -0.5], [0.5, -0.5], [0.9, 0.9]]
    state = MAKE_STATE(jnp.asarray(agents), jnp.asarray(targets), jnp.ones(3, jnp.int32))
    np.testing.assert_array_equal(state.covered, [False, True, False])
    image = np.asarray(jax.jit(SPREAD_LIKE.render)(state))
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    # 128 pixels per unit, y up: world (x, y) is column (x + 1) * 128, row 255 - (y + 1) * 128
    np.testing.assert_array_equal(image[63, 192], [70, 70, 170])  # agent at (0.5, 0.5)
    np.testing.assert_array_equal(image[191, 64], [225, 140, 140])  # uncovered (-0.5, -0.5)
    np.testing.assert_array_equal(image[217, 192], [140, 210, 140])  # covered, below its agent
    np.testing.assert_array_equal(image[127, 20], [255, 255, 255])


def _step_jaxpr(num_agents: int, reward: str = "team"):
    env = Coverage(num_agents=num_agents, num_targets=num_agents, reward=reward)
    state = jax.eval_shape(env.reset, jax.random.key(0))[1]
    actions = jnp.zeros(num_agents, jnp.int32)
    return jax.make_jaxpr(env.step)(jax.random.key(0), state, actions).jaxpr


@pytest.mark.parametrize("reward", ["team", "difference"])
def test_no_n_squared_array_in_a_step_at_5000_agents(reward):
    largest = largest_intermediate(_step_jaxpr(5000, reward))
    assert largest < 5000 * 5000 // 10
    assert largest <= 4 * largest_intermediate(_step_jaxpr(1250, reward))  # grows like N


@pytest.mark.parametrize(
    ("setting", "value", "others"),
    [
        ("num_agents", 0, {}),
        ("num_agents", 10_001, {}),
        ("num_targets", 20_000, {}),
        ("k_agents", 8, {}),  # N - 1 = 7 others
        ("k_targets", 9, {}),
        ("view_radius", 0.0, {}),
        ("cover_radius", -0.1, {}),
        ("max_capacity", 9, {}),
        ("max_capacity", 1, {"min_capacity": 2}),
        ("collision_penalty", -1.0, {}),
        ("reward", "local", {}),
        ("render_size", 100, {}),
        ("num_targets", 40, {}),  # 8 agents: side 3.27, a 6 x 6 target lattice
        ("area_per_agent", 0.1, {}),  # no room to start 8 agents apart
    ],
)
def test_bad_settings_are_config_errors(setting, value, others):
    with pytest.raises(ConfigError, match=setting):
        make("coverage", **{**others, setting: value})


def test_task_offsets_are_target_minus_agent_positions():
    env = make("coverage", num_agents=7, num_targets=5, k_agents=2, k_targets=3)
    _, state = env.reset(jax.random.key(3))
    offsets = np.asarray(env.task_offsets(state))
    assert offsets.shape == (7, 5, 2)
    agents, targets = np.asarray(state.agent_pos), np.asarray(state.target_pos)
    for i, j in [(0, 0), (3, 4), (6, 2)]:
        np.testing.assert_allclose(offsets[i, j], targets[j] - agents[i], rtol=1e-6)
