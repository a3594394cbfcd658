"""The PPO trainer: sequence replay equals acting, determinism, seeds as a vmap axis, no retrace."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.learn import advantages_and_targets, make_batch, ppo_loss
from marlax.algorithms.ppo.rollout import _act_and_step, action_noise, rollout, rollout_step
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import config_to_dict, load_from_dict
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
    [
        ("gru", "independent"),
        pytest.param("transformer", "centralised", marks=pytest.mark.slow),  # ~22 s (CI time)
        ("mlp", "shared"),
    ],
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


@pytest.mark.slow  # CI time (~30 s of compiles): the full tier runs it
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


def _multi_task_trainer() -> Trainer:
    """nback (1 agent, 5 features, 2 actions) x 4 envs + simple_spread (3, 18, 5) x 2 envs."""
    raw = config_to_dict(tiny_config("nback", "gru", env_params={"max_steps": 4}))
    raw["envs"].append({"name": "simple_spread", "num_envs": 2, "params": {"max_steps": 4}})
    return Trainer(load_from_dict(raw))


def _rollout_targets(trainer: Trainer, state) -> tuple:
    _, transitions, _, last_value = rollout(
        jax.random.key(1), trainer.layout, trainer.networks, state.params, state.runner, 8
    )
    advantages, targets = advantages_and_targets(transitions, last_value, 0.99, 0.95)
    return transitions, advantages, targets


def test_multi_task_pads_observations_actions_and_agents(key):
    trainer = _multi_task_trainer()
    layout = trainer.layout
    assert (layout.max_agents, layout.total_envs) == (3, 6)
    valid = np.asarray(layout.agent_valid)
    assert valid[:4].sum(axis=1).tolist() == [1] * 4 and valid[4:].all()
    state = jax.tree.map(lambda x: x[0], trainer.init(key))
    transitions, _, _ = _rollout_targets(trainer, state)
    obs = np.asarray(transitions.model_obs)  # [T, 6, 3, 20]: 18 features + 2 task one-hot
    assert obs.shape[-1] == 20
    raw_nback = np.asarray(state.runner.tasks[0].obs)  # [4, 1, 5]
    np.testing.assert_array_equal(obs[0, :4, :1, :5], raw_nback)
    np.testing.assert_array_equal(obs[:, :4, :, 5:18], 0.0)  # nback's features, zero-padded
    np.testing.assert_array_equal(obs[:, :4, 1:, :18], 0.0)  # nback's padded agents
    np.testing.assert_array_equal(obs[:, :4, :, 18:], np.broadcast_to([1.0, 0.0], (8, 4, 3, 2)))
    np.testing.assert_array_equal(obs[:, 4:, :, 18:], np.broadcast_to([0.0, 1.0], (8, 2, 3, 2)))
    legal = np.asarray(transitions.legal_mask)  # [T, 6, 3, 5]
    assert not legal[:, :4, :, 2:].any()  # nback has 2 actions: 2..4 are padding
    assert legal[:, :4, 1:, 0].all() and not legal[:, :4, 1:, 1:].any()  # padded agents
    assert legal[:, 4:].all()
    action = np.asarray(transitions.action)
    assert (action[:, :4, 0] < 2).all() and (action[:, :4, 1:] == 0).all()
    np.testing.assert_array_equal(np.asarray(transitions.reward)[:, :4, 1:], 0.0)


@pytest.mark.slow  # ~29 s (CI time); masked loss terms: test_losses.py
def test_multi_task_padded_agents_get_no_gradient(key):
    """Garbage in every padded agent's learning data changes neither the loss nor its
    gradient: padding counts for nothing."""
    trainer = _multi_task_trainer()
    state = jax.tree.map(lambda x: x[0], trainer.init(key))
    batch = make_batch(
        trainer.networks,
        *_rollout_targets(trainer, state),
        trainer.layout.agent_valid,
        state.runner.actor_carry,
        state.runner.critic_carry,
    )
    padded = np.asarray(batch.weight) == 0.0  # [T, K]
    assert padded.any() and not padded.all()

    def _scramble(leaf: jax.Array, noise_key: jax.Array) -> jax.Array:
        mask = padded.reshape(padded.shape + (1,) * (leaf.ndim - 2))
        noise = jax.random.normal(noise_key, leaf.shape) * 3.0
        return jnp.where(mask, noise.astype(leaf.dtype), leaf)

    t = batch.transition
    keys = jax.random.split(jax.random.key(7), 5)
    scrambled = batch.replace(
        transition=t.replace(
            model_obs=_scramble(t.model_obs, keys[0]),
            log_prob=_scramble(t.log_prob, keys[1]),
            value=_scramble(t.value, keys[2]),
        ),
        advantages=_scramble(batch.advantages, keys[3]),
        targets=_scramble(batch.targets, keys[4]),
    )
    grad_fn = jax.grad(lambda p, b: ppo_loss(p, trainer.networks, b, trainer.ppo)[0])
    clean, dirty = grad_fn(state.params, batch), grad_fn(state.params, scrambled)
    for a, b in zip(jax.tree.leaves(clean), jax.tree.leaves(dirty), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.slow  # CI time: a compile-heavy invariant, run in the full tier
def test_multi_task_reports_each_task(key):
    trainer = _multi_task_trainer()
    _, metrics = trainer.update(trainer.init(key))
    for name in ("return/nback", "return/simple_spread", "loss/total"):
        assert np.isfinite(metrics[name]).all(), name


def test_truncation_bootstrap_is_the_critic_on_final_obs_after_the_step(key):
    """Every env truncates at the third step (max_steps 3): its final_value must be the GRU
    critic's value of the pre-reset observation, read with the memory after the step (not the
    one before it); with bootstrapping off it is exactly 0."""
    config = tiny_config(
        "simple_spread", "gru", env_params={"max_steps": 3}, ppo={"critic": "independent"}
    )
    trainer = Trainer(config)
    layout, networks = trainer.layout, trainer.networks
    state = jax.tree.map(lambda x: x[0], trainer.init(key))
    runner = state.runner
    for step_key in jax.random.split(jax.random.key(2), 2):
        runner, _ = rollout_step(layout, networks, state.params, runner, step_key)
    env_keys = jax.random.split(jax.random.key(3), 1)
    noise = action_noise(jax.random.key(4), layout, 1)[0]
    after, (transition, _) = _act_and_step(
        layout, networks, state.params, runner, env_keys, noise, True
    )
    assert np.asarray(transition.done).all() and not np.asarray(transition.terminated).any()
    # the same env step by hand gives the pre-reset observation
    log_state = runner.tasks[0].log_state
    info = layout.tasks[0].logged_env.step(env_keys[0], log_state, transition.action)[-1]
    critic_obs = jnp.zeros((*transition.value.shape, 0), jnp.float32)
    no_reset = jnp.zeros(transition.value.shape, bool)

    def _value(actor_carry, critic_carry):
        return networks.evaluate(
            state.params, actor_carry, critic_carry, info["final_obs"], critic_obs, no_reset
        )[-1]

    expected = _value(after.actor_carry, after.critic_carry)
    np.testing.assert_allclose(transition.final_value, expected, rtol=1e-5, atol=1e-6)
    before = _value(runner.actor_carry, runner.critic_carry)
    assert not np.allclose(before, expected, atol=1e-4)  # the memory after the step matters
    _, (off, _) = _act_and_step(layout, networks, state.params, runner, env_keys, noise, False)
    np.testing.assert_array_equal(off.final_value, 0.0)


@pytest.mark.slow  # CI time: a compile-heavy invariant, run in the full tier
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
