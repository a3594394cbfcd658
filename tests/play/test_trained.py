"""`marlax.algorithms.ppo.policy`: a trained PPO actor as the shared `MemoryPolicy`, in rollouts
and play sessions."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.algorithms.ppo.policy import select_task, trained_policy
from marlax.envs import make
from marlax.envs.grid.tiles import Action
from marlax.envs.wrappers import AutoReset
from marlax.errors import ConfigError
from marlax.play.record import jitted_rollout, steps_for_episodes
from marlax.play.session import PlaySession
from tests.play.tiny_runs import (
    SPREAD_MLP,
    TINY_GRID_GRU,
    head_params,
    make_trainer,
    restored,
    tiny_grid_registered,
)
from tests.runs.tiny_grid import TinyGrid

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("play.test_trained")

SEED_WITH_AGENT_0_INSIDE = 9  # PlaySession's TinyGrid agent 0 starts at (2, 1)


@pytest.fixture(scope="module")
def grid_trainer():
    with tiny_grid_registered():
        yield make_trainer(TINY_GRID_GRU)


@pytest.fixture(scope="module")
def grid_params(grid_trainer):
    # a large random policy kernel, so the GRU's memory visibly changes the actions
    params = grid_trainer.networks.init(jax.random.key(1), grid_trainer.layout)
    kernel = jax.random.normal(jax.random.key(11), (8, 7)) * 10.0
    return head_params(params, kernel=kernel)


def test_mlp_policy_plays_the_argmax_of_the_actor_logits():
    trainer = make_trainer(SPREAD_MLP)
    params = trainer.networks.init(jax.random.key(3), trainer.layout)
    params = head_params(params, kernel_scale=100.0)  # spread the logits apart
    policy = trained_policy(restored(trainer, params), 0)
    assert isinstance(policy, MemoryPolicy)  # the protocol every learner's policy implements
    env = make("simple_spread")
    obs, state = env.reset(jax.random.key(0))
    actions, _ = policy.act(
        jax.random.key(1), obs, state, policy.initial_memory(), jnp.ones((), bool)
    )
    carry = trainer.networks.actor.initialize_carry((1, 3))
    _, (logits, _) = trainer.networks.actor.apply(
        params["actor"], carry, obs[None], jnp.ones((1, 3), bool)
    )
    expected = np.argmax(np.asarray(logits[0]), axis=-1)
    assert actions.shape == (3,) and actions.dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(actions), expected)
    assert len(set(expected.tolist())) > 1  # the check is not vacuous: agents differ


def test_illegal_actions_are_never_played(grid_trainer, grid_params):
    # logits = bias: ATTACK (illegal in TinyGrid) is highest, then DIG
    bias = [0.0, 0.0, 0.0, 0.0, 0.0, 100.0, 50.0]
    params = head_params(grid_params, bias=bias, kernel_scale=0.0)
    policy = trained_policy(restored(grid_trainer, params), 0)
    obs, state = TinyGrid(max_steps=3).reset(jax.random.key(0))
    sampled = trained_policy(restored(grid_trainer, params), 0, sample=True)

    @jax.jit
    def _actions(keys):
        memory = policy.initial_memory()
        mode = policy.act(keys[0], obs, state, memory, jnp.ones((), bool))[0]
        draws = jax.vmap(lambda key: sampled.act(key, obs, state, memory, True)[0])(keys)
        return mode, draws

    actions, draws = _actions(jax.random.split(jax.random.key(2), 64))
    assert np.asarray(actions).tolist() == [Action.DIG, Action.DIG]
    assert not np.any(np.asarray(draws) == Action.ATTACK)


def test_memory_carries_between_steps_and_clears_at_a_reset(grid_trainer, grid_params):
    policy = trained_policy(restored(grid_trainer, grid_params), 0)
    env = TinyGrid(max_steps=3)
    first_obs, _ = env.reset(jax.random.key(0))
    other_obs, _ = env.reset(jax.random.key(5))
    output = jax.jit(policy.policy_output)
    start, memory = output(first_obs, policy.initial_memory(), jnp.ones((), bool))
    _, memory = output(other_obs, memory, jnp.zeros((), bool))
    remembered, _ = output(first_obs, memory, jnp.zeros((), bool))
    restarted, _ = output(first_obs, memory, jnp.ones((), bool))
    np.testing.assert_array_equal(np.asarray(restarted), np.asarray(start))
    assert np.abs(np.asarray(remembered) - np.asarray(start)).max() > 1e-3


def _loop_rollout(key, env, policy, num_steps, reset_memory=True):
    """What `rollout` computes, step by step on the host: (positions [T + 1], actions [T]).

    Positions are those each step ended in, before the auto-reset (the episode's last frame).
    """
    auto_reset = AutoReset(env)
    act, env_step = jax.jit(policy.act), jax.jit(auto_reset.step)
    reset_key, loop_key = jax.random.split(key)
    obs, state = jax.jit(auto_reset.reset)(reset_key)
    memory, reset = policy.initial_memory(), jnp.ones((), bool)
    positions, actions_t = [np.asarray(state.positions)], []
    for step_key in jax.random.split(loop_key, num_steps):
        policy_key, env_key = jax.random.split(step_key)
        actions, memory = act(policy_key, obs, state, memory, reset)
        obs, state, _, done, info = env_step(env_key, state, actions)
        positions.append(np.asarray(info["final_state"].positions))
        actions_t.append(np.asarray(actions))
        reset = done if reset_memory else jnp.zeros((), bool)
    return np.stack(positions), np.stack(actions_t)


def test_rollout_with_a_recurrent_policy_equals_a_host_loop(grid_trainer, grid_params):
    policy = trained_policy(restored(grid_trainer, grid_params), 0)
    env = TinyGrid(max_steps=3)
    key = jax.random.key(4)
    trajectory = jitted_rollout(key, env=env, num_steps=9, memory_policy=policy)
    positions, actions = _loop_rollout(key, env, policy, 9)
    np.testing.assert_array_equal(np.asarray(trajectory.states.positions), positions)
    np.testing.assert_array_equal(np.asarray(trajectory.actions), actions)
    assert np.asarray(trajectory.done).tolist() == [False, False, True] * 3
    # without clearing the memory at episode starts the agents would act otherwise
    _, kept_actions = _loop_rollout(key, env, policy, 9, reset_memory=False)
    assert not np.array_equal(actions, kept_actions)


def test_steps_for_episodes_cuts_after_the_nth_end():
    done = np.array([False, True, False, False, True, False])
    assert steps_for_episodes(done, 1) == 2
    assert steps_for_episodes(done, 2) == 5
    assert steps_for_episodes(done, 3) == 6  # fewer episodes ended: everything


@pytest.mark.parametrize(("controlled", "agent_0_move"), [(True, (1, 0)), (False, (0, 1))])
def test_session_keys_drive_agent_0_and_the_policy_the_others(
    grid_trainer, grid_params, controlled, agent_0_move
):
    up = np.zeros(7, np.float32)
    up[Action.UP] = 10.0  # the policy always moves up
    params = head_params(grid_params, bias=up, kernel_scale=0.0)
    policy = trained_policy(restored(grid_trainer, params), 0)
    env = TinyGrid(max_steps=3)
    key = jax.random.key(SEED_WITH_AGENT_0_INSIDE)
    session = PlaySession(env, key, 0, policy, controlled=controlled, show_view=False)
    start = np.asarray(session.state.positions)
    assert start[0].tolist() == [2, 1] and session.pov_view is None
    session.step(int(Action.RIGHT))
    moved = np.asarray(session.state.positions)
    assert moved[0].tolist() == (start[0] + np.array(agent_0_move)).tolist()
    expected_1 = [start[1][0], min(start[1][1] + 1, env.height - 1)]  # up, clipped at the edge
    assert moved[1].tolist() == expected_1


def test_select_task_by_name_or_index():
    labels = ("grid_return", "scouts")
    assert select_task(labels, None) == 0
    assert select_task(labels, "scouts") == 1
    assert select_task(labels, "1") == 1
    for bad in ("2", "nback", "-1"):
        with pytest.raises(ConfigError, match="0=grid_return, 1=scouts") as error:
            select_task(labels, bad)
        assert error.value.field == "selector"


def test_seed_index_out_of_range_is_a_config_error(grid_trainer, grid_params):
    with pytest.raises(ConfigError) as error:
        trained_policy(restored(grid_trainer, grid_params), 0, seed_index=1)
    assert error.value.field == "seed_index"
