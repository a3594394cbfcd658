"""MeanFieldEnv: neighbours' mean previous action, against hand values and brute force."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.config import load_config
from marlax.envs import make
from marlax.envs.wrappers.mean_field import MeanFieldEnv, from_settings
from marlax.errors import ConfigError
from tests.envs.helpers import assert_trees_close

BATTLE = make("battle", agents_per_side=8, map_size=12, view_radius=2, opponent="self_play")
COVERAGE = make("coverage", num_agents=60, num_targets=60, max_steps=10)


def _brute_force(positions, alive, teams, actions, num_actions, radius=None, k=None):
    """f64[N, A]: the mean one-hot action over same-team live others within radius (k nearest)."""
    positions = np.asarray(positions, np.float64)
    one_hot = np.eye(num_actions)[np.asarray(actions)]
    means = np.zeros((len(positions), num_actions))
    for i in np.flatnonzero(alive):
        others = [j for j in np.flatnonzero(alive & (teams == teams[i])) if j != i]
        if radius is not None:
            distance = np.linalg.norm(positions[others] - positions[i], axis=1)
            order = np.argsort(distance, kind="stable")
            others = [others[j] for j in order if distance[j] <= radius][:k]
        if others:
            means[i] = one_hot[others].mean(axis=0)
    return means


def _scattered_battle_state(seed: int):
    """A battle state with agents on random distinct inner cells and a third of them dead."""
    _, state = BATTLE.reset(jax.random.key(seed))
    rng = np.random.default_rng(seed)
    inner = np.stack(np.meshgrid(np.arange(1, 11), np.arange(1, 11)), -1).reshape(-1, 2)
    cells = inner[rng.choice(len(inner), BATTLE.num_agents, replace=False)]
    alive = rng.random(BATTLE.num_agents) > 0.33
    return state.replace(positions=jnp.asarray(cells, jnp.int32), alive=jnp.asarray(alive))


def test_team_mean_by_hand():
    env = MeanFieldEnv(make("coverage", num_agents=3, num_targets=3, k_agents=2, k_targets=3))
    _, state = env.reset(jax.random.key(0))
    mean, dropped = env.mean_actions(state.inner, jnp.array([1, 2, 2]))
    e1, e2 = np.eye(5)[1], np.eye(5)[2]
    np.testing.assert_allclose(mean, np.stack([e2, (e1 + e2) / 2, (e1 + e2) / 2]), atol=1e-7)
    assert int(dropped) == 0


@pytest.mark.parametrize("radius", [None, 2.5, 6.0])
def test_battle_means_equal_brute_force_with_two_teams_and_the_dead(radius):
    env = MeanFieldEnv(BATTLE, radius=radius)
    for seed in range(3):
        state = _scattered_battle_state(seed)
        actions = jax.random.randint(jax.random.key(seed), (env.num_agents,), 0, 21)
        mean, dropped = jax.jit(env.mean_actions)(state, actions)
        expected = _brute_force(
            state.positions, np.asarray(state.alive), BATTLE.agent_teams, actions, 21, radius
        )
        np.testing.assert_allclose(mean, expected, atol=1e-6)
        assert int(dropped) == 0  # battle bounds a cell's live agents: the grid is exact


def test_k_nearest_means_equal_brute_force_in_coverage():
    env = MeanFieldEnv(COVERAGE, radius=1.5, k=3)
    _, state = env.reset(jax.random.key(1))
    positions = jax.random.uniform(jax.random.key(2), (60, 2), minval=-4.4, maxval=4.4)
    inner = state.inner.replace(agent_pos=positions)
    actions = jax.random.randint(jax.random.key(3), (60,), 0, 5)
    mean, dropped = jax.jit(env.mean_actions)(inner, actions)
    expected = _brute_force(positions, np.ones(60, bool), np.zeros(60), actions, 5, 1.5, 3)
    assert int(dropped) == 0
    np.testing.assert_allclose(mean, expected, atol=1e-6)
    assert np.all(np.isin(np.asarray(mean) * 3, [0, 1, 2, 3]) | (np.asarray(mean) == 0.5))


def test_crowded_cells_report_the_agents_they_drop():
    env = MeanFieldEnv(COVERAGE, radius=1.5, cell_capacity=2)
    _, state = env.reset(jax.random.key(1))
    inner = state.inner.replace(agent_pos=jnp.zeros((60, 2)))  # everybody on one spot
    _, dropped = jax.jit(env.mean_actions)(inner, jnp.zeros(60, jnp.int32))
    assert int(dropped) == 58


def test_vector_observation_gains_the_mean_and_starts_at_zero():
    env = MeanFieldEnv(COVERAGE, radius=1.5)
    key = jax.random.key(4)
    obs, state = env.reset(key)
    inner_obs, _ = COVERAGE.reset(key)
    assert env.observation_space.shape == (COVERAGE.obs_dim + 5,)
    np.testing.assert_array_equal(obs[:, : COVERAGE.obs_dim], inner_obs)
    assert not np.any(obs[:, COVERAGE.obs_dim :])
    actions = jax.random.randint(key, (60,), 0, 5)
    obs, state, *_ = jax.jit(env.step)(key, state, actions)
    np.testing.assert_array_equal(obs[:, COVERAGE.obs_dim :], state.mean_action)
    assert np.any(state.mean_action)


def test_uint8_views_carry_the_mean_as_constant_planes():
    env = MeanFieldEnv(BATTLE)
    key = jax.random.key(5)
    _, state = env.reset(key)
    obs, state, *_ = jax.jit(env.step)(key, state, jnp.full((env.num_agents,), 13, jnp.int32))
    assert obs.dtype == jnp.uint8 and obs.shape == (16, 5, 5, 8 + 21)
    planes = np.asarray(obs[..., 8:], np.int32)
    expected = np.round(np.asarray(state.mean_action) * 255).astype(np.int32)
    np.testing.assert_array_equal(planes, np.broadcast_to(expected[:, None, None], planes.shape))
    assert env.observation_space.shape == (5, 5, 29) and env.observation_space.high == 255


def test_global_state_appends_every_mean():
    env = MeanFieldEnv(BATTLE, radius=3.0)
    obs, state = env.reset(jax.random.key(6))
    inner_gs = BATTLE.global_state(state.inner, obs[..., :8])
    full = env.global_state(state, obs)
    assert full.shape == (inner_gs.shape[0] + 16 * 21,)
    np.testing.assert_array_equal(full[: inner_gs.shape[0]], inner_gs)


def _episode_step(key):
    env = MeanFieldEnv(BATTLE, radius=3.0, k=4)
    _, state = env.reset(key)
    return env.step(key, state, jax.random.randint(key, (env.num_agents,), 0, 21))


def test_vmap_equals_loop():
    keys = jax.random.split(jax.random.key(7), 2)
    batched = jax.jit(jax.vmap(_episode_step))(keys)
    for index, key in enumerate(keys):
        single = jax.jit(_episode_step)(key)
        assert_trees_close(jax.tree.map(lambda leaf, i=index: leaf[i], batched), single)


@pytest.mark.slow  # battle's step runs op by op without jit: ~30-60 s on 2 busy cores
def test_jit_equals_no_jit():
    key = jax.random.key(8)
    assert_trees_close(jax.jit(_episode_step)(key), _episode_step(key))


@pytest.mark.parametrize(
    ("env", "settings", "field"),
    [
        (BATTLE, {"radius": -1.0}, "model.mean_field.radius"),
        (BATTLE, {"radius": 2.0, "k": 16}, "model.mean_field.k"),
        (BATTLE, {"k": 3}, "model.mean_field.k"),
        (BATTLE, {"radius": 2.0, "nearest": 3}, "model.mean_field"),
        (make("simple_spread"), {"radius": 1.0}, "env"),
        (make("grid_return"), {}, "model.mean_field"),
    ],
)
def test_bad_settings_name_their_field(env, settings, field):
    with pytest.raises(ConfigError) as error:
        from_settings(env, settings)
    assert error.value.field == field


def test_team_mode_needs_no_positions():
    env = from_settings(make("simple_spread"), {})
    obs, _ = env.reset(jax.random.key(0))
    assert obs.shape == (3, make("simple_spread").observation_space.shape[0] + 5)


def test_model_mean_field_wraps_every_task_env():
    config = load_config(
        None,
        [
            "env.name=coverage",
            'env.params={"num_agents": 10, "num_targets": 10}',
            'model.mean_field={"radius": 1.5, "k": 3}',
        ],
    )
    env = config.envs[0].make_env()
    assert isinstance(env, MeanFieldEnv) and (env.radius, env.k) == (1.5, 3)


def test_a_variant_env_keeps_the_mean_field_inputs():
    from marlax.algorithms.trained import variant_env

    trained = MeanFieldEnv(BATTLE, radius=3.0)
    params = {"agents_per_side": 8, "map_size": 12, "view_radius": 2, "opponent": "self_play"}
    variant = variant_env("battle", params, {"max_steps": 7}, trained)
    assert isinstance(variant, MeanFieldEnv) and variant.radius == 3.0
    assert variant.max_steps == 7 and variant.observation_space == trained.observation_space


@pytest.mark.parametrize("algorithm", ["maml", "rl2", "varibad"])
def test_task_family_learners_refuse_mean_field_inputs(algorithm):
    with pytest.raises(ConfigError) as error:
        load_config(
            None, [f"algorithm={algorithm}", "env.name=navigation_2d", "model.mean_field={}"]
        )
    assert error.value.field == "model.mean_field"
