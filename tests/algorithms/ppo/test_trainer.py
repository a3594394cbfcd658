"""The PPO trainer: sequence replay equals acting, determinism, seeds as a vmap axis, no retrace."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.learn import advantages_and_targets, make_batch, ppo_loss
from marlax.algorithms.ppo.rollout import rollout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.errors import ConfigError
from tests.algorithms.ppo.helpers import tiny_config


def _first_rollout_batch(trainer: Trainer, key: jax.Array):
    state = jax.tree.map(lambda x: x[0], trainer.init(key))
    start = state.runner
    _, transitions, _, last_value = rollout(
        jax.random.key(1),
        trainer.layout,
        trainer.networks,
        state.params,
        start,
        trainer.ppo.rollout_length,
        trainer.ppo.bootstrap_truncation,
    )
    advantages, targets = advantages_and_targets(transitions, last_value, 0.99, 0.95)
    batch = make_batch(
        trainer.networks,
        transitions,
        advantages,
        targets,
        trainer.layout.agent_valid,
        start.actor_carry,
        start.critic_carry,
    )
    return state, transitions, batch


@pytest.mark.parametrize(
    ("model", "critic"),
    [("gru", "independent"), ("transformer", "centralised"), ("mlp", "shared")],
)
def test_learning_replay_reproduces_acting(key, model, critic):
    """Before any gradient step the learner's log-probs and values equal the rollout's:
    ratio 1, KL 0, value error 0. Episodes of 3 steps end inside the 8-step rollout, so the
    recurrent replay must reset its memory exactly where acting did."""
    config = tiny_config(model=model, env_params={"max_steps": 3}, ppo={"critic": critic})
    trainer = Trainer(config)
    state, transitions, batch = _first_rollout_batch(trainer, key)
    assert bool(transitions.done.any()) and bool(transitions.reset[1:].any())
    _, metrics = ppo_loss(state.params, trainer.networks, batch, trainer.ppo)
    np.testing.assert_allclose(metrics.approx_kl, 0.0, atol=1e-6)
    assert float(metrics.clip_fraction) == 0.0
    # the value loss is 0.5 * E[(V - target)^2] with V the rollout's own values
    expected = 0.5 * jnp.mean(jnp.square(batch.transition.value - batch.targets))
    np.testing.assert_allclose(metrics.value, expected, rtol=1e-4)


def test_same_key_same_training_and_seeds_are_independent(key):
    config = tiny_config(run={"num_seeds": 2, "log_every": 2, "checkpoint_every": 2})
    trainer = Trainer(config)
    first, metrics_a = trainer.update(trainer.init(key))
    second, metrics_b = trainer.update(trainer.init(key))
    for a, b in zip(jax.tree.leaves(first.params), jax.tree.leaves(second.params), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(metrics_a["loss/total"], metrics_b["loss/total"])
    assert metrics_a["loss/total"].shape == (2, 2)
    # the two seeds start from different parameters and learn differently
    kernel = jax.tree.leaves(first.params)[0]
    assert not np.allclose(kernel[0], kernel[1])


def test_seed_axis_equals_separate_runs(key):
    """Seed i of a 2-seed program equals a 1-seed program given seed i's key."""
    two = Trainer(tiny_config(run={"num_seeds": 2}))
    one = Trainer(tiny_config())
    keys = jax.random.split(key, 2)
    both, _ = jax.jit(two._updates_seeds)(jax.jit(two._init_seeds)(keys))
    alone, _ = jax.jit(one._updates_seeds)(jax.jit(one._init_seeds)(keys[1:]))
    for a, b in zip(jax.tree.leaves(both.params), jax.tree.leaves(alone.params), strict=True):
        np.testing.assert_allclose(a[1], b[0], rtol=1e-5, atol=1e-6)


def test_update_keeps_state_types_so_it_compiles_once(key):
    trainer = Trainer(
        tiny_config("grid_return", "mlp", env_params={"width": 12, "height": 12, "num_agents": 2})
    )
    initial = trainer.abstract_state()
    updated, metrics = jax.eval_shape(trainer._updates_seeds, initial)
    assert jax.tree.structure(initial) == jax.tree.structure(updated)
    for before, after in zip(jax.tree.leaves(initial), jax.tree.leaves(updated), strict=True):
        assert (before.shape, before.dtype, before.weak_type) == (
            after.shape,
            after.dtype,
            after.weak_type,
        )
    assert set(metrics) >= {"return", "return/grid_return", "loss/policy", "loss/value"}


def test_multi_task_pads_agents_and_reports_each_task(key):
    config = tiny_config(
        "nback",
        "gru",
        env_params={"max_steps": 4},
    )
    from marlax.config import config_to_dict, load_from_dict

    raw = config_to_dict(config)
    raw["envs"].append({"name": "simple_spread", "num_envs": 2, "params": {"max_steps": 4}})
    trainer = Trainer(load_from_dict(raw))
    layout = trainer.layout
    assert (layout.max_agents, layout.total_envs) == (3, 6)
    valid = np.asarray(layout.agent_valid)
    assert valid[:4].sum(axis=1).tolist() == [1] * 4 and valid[4:].all()
    # obs: simple_spread's 18 features + 2 task one-hot; nback's 5 are zero-padded
    assert layout.observation_space.shape == (20,)
    state, metrics = trainer.update(trainer.init(key))
    assert np.isfinite(metrics["return/nback"]).all()
    assert np.isfinite(metrics["return/simple_spread"]).all()
    assert np.isfinite(metrics["loss/total"]).all()


def test_truncation_bootstrap_can_be_turned_off(key):
    """simple_spread only truncates: with bootstrapping the final values are the critic's
    values of `final_obs` (nonzero); without, they are exactly 0 (time limits as terminal)."""
    values = {}
    for flag in (True, False):
        config = tiny_config(env_params={"max_steps": 3}, ppo={"bootstrap_truncation": flag})
        trainer = Trainer(config)
        _, transitions, _ = _first_rollout_batch(trainer, key)
        done = np.asarray(transitions.done)
        assert done.any() and not np.asarray(transitions.terminated).any()
        values[flag] = np.asarray(transitions.final_value)[done]
    assert np.all(values[False] == 0.0)
    assert np.all(values[True] != 0.0)


def test_k_single_updates_equal_one_call_of_k_updates(key):
    """update(n=1) three times == update(n=3) once (the host loop's remainder path), and
    metrics lead with [S, n]; None means run.log_every."""
    config = tiny_config(updates=4, run={"num_seeds": 2, "log_every": 2, "checkpoint_every": 2})
    trainer = Trainer(config)
    stepwise, per_call = trainer.init(key), []
    for _ in range(3):
        stepwise, metrics = trainer.update(stepwise, num_updates=1)
        assert metrics["loss/total"].shape == (2, 1)
        per_call.append(metrics)
    at_once, metrics = trainer.update(trainer.init(key), num_updates=3)
    assert metrics["loss/total"].shape == (2, 3)
    np.testing.assert_array_equal(stepwise.update, [3, 3])
    np.testing.assert_array_equal(at_once.update, [3, 3])
    for a, b in zip(jax.tree.leaves(stepwise), jax.tree.leaves(at_once), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for name in ("loss/total", "loss/policy", "return"):
        stitched = np.concatenate([m[name] for m in per_call], axis=1)
        np.testing.assert_allclose(stitched, metrics[name], rtol=1e-5, atol=1e-6)
    _, default = trainer.update(at_once)
    assert default["loss/total"].shape == (2, 2)


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_update_rejects_a_bad_count(key, count):
    trainer = Trainer(tiny_config())
    with pytest.raises(ConfigError, match="num_updates"):
        trainer.update(trainer.abstract_state(), num_updates=count)
