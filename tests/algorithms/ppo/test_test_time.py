"""Test-time training of a PPO policy with a next-observation head (`ppo.test_time`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.policy import TrainedPolicy
from marlax.algorithms.ppo.test_time import (
    TestTimeAdaptation,
    adapt_to_task,
    play_episodes,
    self_supervised_loss,
)
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from marlax.models.next_obs import adaptable_mask

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("algorithms.ppo.test_test_time")

MAX_STEPS = 5


@pytest.fixture(scope="module")
def adaptation():
    """A fresh GRU policy with the head on spread_family (episodes of 5 steps), 3 episodes."""
    config = load_from_dict(
        {
            "env": {"name": "spread_family", "num_envs": 2, "params": {"max_steps": MAX_STEPS}},
            "model": {
                "name": "gru",
                "core": {"hidden_size": 8},
                "encoder": {"hidden_sizes": [8], "layer_norm": True},
                "next_obs_head": True,
            },
            "ppo": {"total_env_steps": 16, "rollout_length": 8, "num_minibatches": 1},
        }
    )
    trainer = Trainer(config)
    params = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(0)).params)
    policy = TrainedPolicy(params["actor"], trainer.networks, trainer.layout, 0, sample=True)
    env = trainer.layout.tasks[0].env
    return TestTimeAdaptation(policy, env, episodes=3, learning_rate=1e-2, gradient_steps=2)


@pytest.fixture(scope="module")
def task(adaptation):
    return adaptation.env.sample_task(jax.random.key(7))


def test_played_episodes_are_the_tasks_and_stop_counting_at_done(adaptation, task):
    played = jax.jit(play_episodes)(
        jax.random.key(1), adaptation.policy.actor_params, adaptation, task
    )
    assert played.model_obs.shape == (MAX_STEPS, 3, 3, adaptation.env.observation_space.shape[0])
    assert played.actions.shape == (MAX_STEPS, 3, 3)
    # spread_family never terminates early: every step of the time limit is live
    assert bool(played.live.all())
    # a team of 3 moving in a layout whose landmarks are the task's: penalties only
    assert np.all(np.asarray(played.returns) < 0.0)


def test_self_supervised_loss_falls_on_the_episodes_it_adapts_to(adaptation, task):
    params = adaptation.policy.actor_params
    played = play_episodes(jax.random.key(1), params, adaptation, task)
    optimizer = adaptation.optimizer(params)
    opt_state = optimizer.init(params)
    loss_and_grad = jax.jit(jax.value_and_grad(self_supervised_loss))
    losses = []
    for _ in range(5):
        loss, grads = loss_and_grad(params, adaptation, played)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = jax.tree.map(jnp.add, params, updates)
        losses.append(float(loss))
    assert losses[-1] < 0.9 * losses[0], losses


def test_only_the_head_and_normalisation_layers_change(adaptation, task):
    curve = jax.jit(adapt_to_task, static_argnums=3)(jax.random.key(2), adaptation, task, 2)
    before = adaptation.policy.actor_params
    mask = adaptable_mask(before)
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), before, curve.params)
    flat_mask, flat_changed = jax.tree.leaves(mask), jax.tree.leaves(changed)
    assert all(
        not moved for adaptable, moved in zip(flat_mask, flat_changed, strict=True) if not adaptable
    )
    assert all(moved for adaptable, moved in zip(flat_mask, flat_changed, strict=True) if adaptable)
    assert curve.returns.shape == (3,) and curve.losses.shape == (3,)


def test_a_vanishing_step_size_replays_the_trained_policy_at_every_point(adaptation, task):
    still = TestTimeAdaptation(
        adaptation.policy, adaptation.env, episodes=3, learning_rate=1e-30, gradient_steps=1
    )
    key = jax.random.key(3)
    curve = jax.jit(adapt_to_task, static_argnums=3)(key, still, task, 2)
    # point s plays with split(key, steps + 1)[s], from unchanged parameters
    for point, point_key in enumerate(jax.random.split(key, 3)):
        played = play_episodes(point_key, adaptation.policy.actor_params, still, task)
        np.testing.assert_allclose(curve.returns[point], played.returns.mean(), rtol=1e-6)
    again = jax.jit(adapt_to_task, static_argnums=3)(key, still, task, 2)
    np.testing.assert_array_equal(curve.returns, again.returns)
