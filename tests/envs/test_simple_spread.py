"""simple_spread: step-by-step equality with mpe2 `simple_spread_v3`, plus hand-checked values."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs import make
from marlax.envs.simple_spread import SimpleSpread, State
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close, random_actions

NUM_STEPS = 25


def _mpe2_episode(num_agents: int, continuous: bool, seed: int):
    """Reset mpe2 with `seed`; returns (env, agent names, start State for marlax)."""
    simple_spread_v3 = pytest.importorskip("mpe2.simple_spread_v3")
    env = simple_spread_v3.parallel_env(
        N=num_agents, local_ratio=0.5, max_cycles=NUM_STEPS, continuous_actions=continuous
    )
    observations, _ = env.reset(seed=seed)
    world = env.unwrapped.world
    state = State(
        agent_pos=jnp.asarray(np.stack([a.state.p_pos for a in world.agents]), jnp.float32),
        agent_vel=jnp.asarray(np.stack([a.state.p_vel for a in world.agents]), jnp.float32),
        landmark_pos=jnp.asarray(np.stack([lm.state.p_pos for lm in world.landmarks]), jnp.float32),
        step=jnp.zeros((), jnp.int32),
    )
    return env, observations, state


@pytest.mark.parametrize("continuous", [False, True], ids=["discrete", "continuous"])
@pytest.mark.parametrize("num_agents", [3, 4])
def test_trajectory_equals_mpe2(num_agents, continuous):
    reference, reference_obs, state = _mpe2_episode(num_agents, continuous, seed=num_agents)
    env = SimpleSpread(num_agents=num_agents, continuous_actions=continuous)
    names = reference.possible_agents
    step = jax.jit(env.step)
    np.testing.assert_allclose(
        env.observe(state), np.stack([reference_obs[a] for a in names]), atol=1e-6
    )
    rng = np.random.default_rng(num_agents)
    max_error = 0.0
    collision_steps = 0
    for step_index in range(NUM_STEPS):
        if continuous:
            actions = rng.uniform(0.0, 1.0, (num_agents, 5)).astype(np.float32)
        else:
            # bias towards one direction so that agents meet and collisions happen
            actions = rng.choice(5, size=num_agents, p=[0.1, 0.1, 0.5, 0.1, 0.2]).astype(np.int32)
        reference_obs, reference_reward, terminations, truncations, _ = reference.step(
            {name: actions[i] for i, name in enumerate(names)}
        )
        obs, state, reward, done, info = step(jax.random.key(step_index), state, actions)
        expected_obs = np.stack([reference_obs[a] for a in names])
        expected_reward = np.array([reference_reward[a] for a in names])
        max_error = max(
            max_error,
            float(np.max(np.abs(np.asarray(obs) - expected_obs))),
            float(np.max(np.abs(np.asarray(reward) - expected_reward))),
        )
        np.testing.assert_allclose(obs, expected_obs, atol=1e-5, rtol=0)
        np.testing.assert_allclose(reward, expected_reward, atol=1e-5, rtol=0)
        assert bool(info["truncated"]) == all(truncations.values())
        assert not bool(info["terminated"]) and not any(terminations.values())
        assert bool(done) == (step_index == NUM_STEPS - 1)
        collision_steps += int(np.any(np.asarray(reward) < expected_reward.max() - 0.25))
    assert max_error < 1e-5
    if (num_agents, continuous) in {(3, False), (4, True)}:
        # these seeds make agents touch, so the contact force is compared too
        assert collision_steps > 0


def test_collision_costs_reward_and_pushes_apart():
    # agent 0 overlaps agent 1; agent 2 is far away
    state = State(
        agent_pos=jnp.array([[0.0, 0.0], [0.1, 0.0], [0.9, 0.9]]),
        agent_vel=jnp.zeros((3, 2)),
        landmark_pos=jnp.zeros((3, 2)),
        step=jnp.zeros((), jnp.int32),
    )
    env = SimpleSpread()
    obs, next_state, reward, _, _ = env.step(jax.random.key(0), state, jnp.zeros(3, jnp.int32))
    # both 0 and 1 are within 0.3 of each other: -1 local reward each, 0 for agent 2
    local = (reward - reward[2]) / env.local_ratio
    np.testing.assert_allclose(local, [-1.0, -1.0, 0.0], atol=1e-6)
    assert float(next_state.agent_vel[0, 0]) < 0 < float(next_state.agent_vel[1, 0])


def test_hand_computed_step():
    """One 'right' step from rest: v = 5 * 0.1, position unchanged (moves with the old v)."""
    env = SimpleSpread(num_agents=2)
    state = State(
        agent_pos=jnp.array([[-0.5, 0.0], [0.5, 0.0]]),
        agent_vel=jnp.zeros((2, 2)),
        landmark_pos=jnp.array([[-0.5, 0.3], [0.5, -0.4]]),
        step=jnp.zeros((), jnp.int32),
    )
    obs, state, reward, done, _ = env.step(jax.random.key(0), state, jnp.array([2, 0]))
    np.testing.assert_allclose(state.agent_vel, [[0.5, 0.0], [0.0, 0.0]], atol=1e-6)
    # no collision; global = -(0.3 + 0.4); reward = 0.5 * global
    np.testing.assert_allclose(reward, [-0.35, -0.35], atol=1e-6)
    np.testing.assert_allclose(
        obs[0], [0.5, 0, -0.5, 0, 0, 0.3, 1.0, -0.4, 1.0, 0.0, 0.0, 0.0], atol=1e-6
    )
    obs, state, *_ = env.step(jax.random.key(1), state, jnp.array([0, 0]))
    np.testing.assert_allclose(state.agent_pos[0], [-0.45, 0.0], atol=1e-6)
    np.testing.assert_allclose(state.agent_vel[0], [0.375, 0.0], atol=1e-6)


def test_truncates_at_max_steps(key):
    env = make("simple_spread")
    obs, state = env.reset(key)
    step = jax.jit(env.step)
    for step_index in range(NUM_STEPS):
        actions = random_actions(jax.random.key(step_index), env, state)
        obs, state, reward, done, info = step(jax.random.key(step_index), state, actions)
        assert bool(done) == (step_index == NUM_STEPS - 1)
    assert bool(info["truncated"]) and not bool(info["terminated"]) and int(state.step) == 25


def test_jit_equals_no_jit_continuous_episode(key):
    env = SimpleSpread(continuous_actions=True)
    _, state = env.reset(key)
    jit_state = state
    step = jax.jit(env.step)
    for step_index in range(5):
        actions = random_actions(jax.random.key(step_index), env, state)
        eager = env.step(key, state, actions)
        jitted = step(key, jit_state, actions)
        assert_trees_close(eager, jitted, atol=1e-6)
        state, jit_state = eager[1], jitted[1]


def test_vmap_over_4096_envs_equals_single(key):
    env = SimpleSpread()
    keys = jax.random.split(key, 4096)
    obs, state = jax.jit(jax.vmap(env.reset))(keys)
    actions = jax.random.randint(jax.random.key(1), (4096, 3), 0, 5)
    obs, state, reward, done, _ = jax.jit(jax.vmap(env.step))(keys, state, actions)
    assert obs.shape == (4096, 3, 18) and reward.shape == (4096, 3) and done.shape == (4096,)
    for index in (0, 4095):
        single_obs, single_state = env.reset(keys[index])
        single = env.step(keys[index], single_state, actions[index])
        np.testing.assert_allclose(single[0], obs[index], atol=1e-6)
        np.testing.assert_allclose(single[2], reward[index], atol=1e-6)


def test_global_state_holds_positions_and_velocities(key):
    env = SimpleSpread()
    obs, state = env.reset(key)
    global_state = env.global_state(state, obs)
    assert global_state.shape == (18,)
    np.testing.assert_array_equal(global_state[:6], state.agent_pos.reshape(-1))
    np.testing.assert_array_equal(global_state[12:], state.landmark_pos.reshape(-1))


def test_render_draws_agents_and_landmarks():
    env = SimpleSpread(num_agents=1)
    state = State(
        agent_pos=jnp.array([[0.5, 0.5]]),
        agent_vel=jnp.zeros((1, 2)),
        landmark_pos=jnp.array([[-0.5, -0.5]]),
        step=jnp.zeros((), jnp.int32),
    )
    image = np.asarray(env.render(state))
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    # half-width 1/0.9: world (0.5, 0.5) is at column 128 + 0.45 * 128, row 128 - 0.45 * 128
    np.testing.assert_array_equal(image[70, 185], [70, 70, 170])
    np.testing.assert_array_equal(image[185, 70], [50, 50, 50])
    np.testing.assert_array_equal(image[5, 5], [255, 255, 255])


@pytest.mark.parametrize(
    ("setting", "value"),
    [("num_agents", 0), ("local_ratio", 1.5), ("continuous_actions", "yes"), ("render_size", 100)],
)
def test_bad_settings_are_config_errors(setting, value):
    with pytest.raises(ConfigError, match=setting):
        SimpleSpread(**{setting: value})
