"""Coverage's `reward = "difference"`: each agent gets G - G(without it), checked on hand-made
layouts and against removing every agent in turn from a dense random layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.coverage import Coverage
from marlax.errors import ConfigError

# simple_spread's set-up (3 agents, 3 targets in [-1, 1]^2, all in view), per-agent rewards
SPREAD_LIKE = Coverage(
    num_agents=3, num_targets=3, k_agents=2, k_targets=3, view_radius=3.0, reward="difference"
)
STEP = jax.jit(SPREAD_LIKE.step)
MAKE_STATE = jax.jit(SPREAD_LIKE.make_state)
NO_OP = jnp.zeros(3, jnp.int32)
TARGETS = [[0.0, 0.0], [0.9, -0.9], [-0.9, 0.9]]


def _step_layout(agent_pos, capacity=(1, 1, 1)):
    """One no-op step from rest (agents stay put) on the hand-made layout."""
    state = MAKE_STATE(jnp.asarray(agent_pos), jnp.asarray(TARGETS), jnp.asarray(capacity))
    _, state, reward, _, info = STEP(jax.random.key(0), state, NO_OP)
    return state, np.asarray(reward), info


def test_an_agent_with_a_spare_partner_on_its_target_earns_nothing():
    """Agents 0 and 1 both cover target 0 (capacity 1, 0.34 apart: no collision); agent 2
    alone covers target 1. G = 2/3; without agent 0 or 1 it stays 2/3, without agent 2 it
    falls to 1/3."""
    state, reward, info = _step_layout([[0.2, 0.0], [-0.1, 0.17], [0.9, -0.9]])
    np.testing.assert_array_equal(state.covered, [True, True, False])
    np.testing.assert_allclose(reward, [0.0, 0.0, 1 / 3], atol=1e-6)
    assert float(info["team_reward"]) == pytest.approx(2 / 3)


def test_every_agent_a_capacity_two_target_needs_is_credited():
    """Target 0 needs 2 agents and has exactly 2: removing either uncovers it."""
    state, reward, _ = _step_layout([[0.2, 0.0], [-0.15, 0.1], [-0.9, -0.2]], (2, 1, 1))
    np.testing.assert_array_equal(state.covered, [True, False, False])
    np.testing.assert_allclose(reward, [1 / 3, 1 / 3, 0.0], atol=1e-6)


def test_a_collision_costs_each_agent_of_the_pair():
    """Away from every target. One pair: G = -1/3 and removing either agent removes it
    (+1/3); three agents all touching: 3 pairs, G = -1, each agent is in 2 of them."""
    _, reward, info = _step_layout([[0.5, 0.5], [0.7, 0.5], [0.9, 0.9]])
    np.testing.assert_allclose(reward, [-1 / 3, -1 / 3, 0.0], atol=1e-6)
    assert float(info["team_reward"]) == pytest.approx(-1 / 3)
    _, reward, info = _step_layout([[0.5, 0.5], [0.7, 0.5], [0.6, 0.65]])
    np.testing.assert_allclose(reward, [-2 / 3] * 3, atol=1e-6)
    assert float(info["team_reward"]) == pytest.approx(-1.0)


def _team_reward(pos: np.ndarray, targets: np.ndarray, capacity: np.ndarray, env) -> float:
    """G from every pair in float64, with the full team's normalisers M and N."""
    to_target = np.linalg.norm(pos[:, None] - targets[None], axis=-1)
    covered = np.sum(to_target <= env.cover_radius, axis=0) >= capacity
    to_agent = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    np.fill_diagonal(to_agent, np.inf)
    pairs = np.sum(to_agent < 0.3) / 2
    return covered.sum() / env.num_targets - env.collision_penalty * pairs / env.num_agents


def test_equals_removing_each_agent_from_a_dense_random_layout():
    """200 agents, 150 targets of capacity 1-2, dense enough to collide: after each of 4
    random steps, every agent's reward equals G - G(the layout without it), and the info's
    team reward equals G."""
    env = make(
        "coverage",
        num_agents=200,
        num_targets=150,
        max_capacity=2,
        area_per_agent=0.5,
        reward="difference",
    )
    _, state = jax.jit(env.reset)(jax.random.key(1))
    step = jax.jit(env.step)
    rng = np.random.default_rng(0)
    seen_needed = seen_collision = False
    for index in range(4):
        actions = jnp.asarray(rng.integers(0, 5, env.num_agents))
        _, state, reward, _, info = step(jax.random.key(index), state, actions)
        pos = np.asarray(state.agent_pos, np.float64)
        targets = np.asarray(state.target_pos, np.float64)
        capacity = np.asarray(state.target_capacity)
        team = _team_reward(pos, targets, capacity, env)
        assert float(info["team_reward"]) == pytest.approx(team, abs=1e-6)
        without = [
            _team_reward(np.delete(pos, agent, axis=0), targets, capacity, env)
            for agent in range(env.num_agents)
        ]
        np.testing.assert_allclose(reward, team - np.asarray(without), atol=1e-6)
        seen_needed |= bool(np.any(np.asarray(reward) > 0))
        seen_collision |= bool(np.any(np.asarray(reward) < 0))
    assert seen_needed and seen_collision, "the layout should exercise both terms"


def test_the_team_reward_is_unchanged_by_the_option():
    """Same layout, same actions: the team variant's shared reward is the difference
    variant's info["team_reward"]."""
    team_env = make("coverage", num_agents=30, num_targets=20)
    difference_env = make("coverage", num_agents=30, num_targets=20, reward="difference")
    _, state = team_env.reset(jax.random.key(2))
    actions = jax.random.randint(jax.random.key(3), (30,), 0, 5)
    _, _, team_reward, _, team_info = team_env.step(jax.random.key(4), state, actions)
    _, _, _, _, info = difference_env.step(jax.random.key(4), state, actions)
    np.testing.assert_allclose(team_reward, np.full(30, float(info["team_reward"])), atol=0)
    assert float(team_info["team_reward"]) == float(info["team_reward"])


def test_an_unknown_reward_is_a_config_error():
    with pytest.raises(ConfigError, match="reward.*'team', 'difference'"):
        make("coverage", reward="local")
