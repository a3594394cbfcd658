"""The MAML trainer: determinism, jit == no-jit, inner_steps = 0 as plain policy gradient,
the adaptation curve, and the config checks (one line and exit 2 from `marlax train`)."""

from __future__ import annotations

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from marlax.algorithms.maml.adaptation import adaptation_returns
from marlax.algorithms.maml.meta import collect, stage_returns, surrogate_loss
from marlax.algorithms.maml.trainer import (
    MAMLSetup,
    MAMLTrainer,
    MAMLTrainState,
    meta_gradient,
    meta_update,
)
from marlax.config import load_from_dict
from marlax.errors import ConfigError
from tests.algorithms.maml.helpers import TINY_RAW, linear_inner, linear_params, tiny_config
from tests.cli_process import assert_refused, run_marlax

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("algorithms.maml.test_trainer")


@pytest.fixture(scope="module")
def trainer():
    return MAMLTrainer(tiny_config(inner_steps=1))


def _leaves_equal(a, b) -> None:
    for left, right in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(left, right)


def test_updates_are_deterministic_under_a_fixed_key(trainer):
    first, metrics = trainer.update(trainer.init(jax.random.key(0)), 2)
    second, again = trainer.update(trainer.init(jax.random.key(0)), 2)
    _leaves_equal(first.params, second.params)
    _leaves_equal(metrics, again)
    assert metrics["return"].shape == (1, 2)
    assert set(metrics) == {
        "return",
        "return/pre_adaptation",
        "loss/outer",
        "loss/inner",
        "grad_norm",
    }
    assert int(first.update[0]) == 2


@pytest.mark.slow  # op-by-op second-order gradients: ~20-50 s
def test_one_outer_update_jit_equals_no_jit():
    # the linear policy keeps the op-by-op (no-jit) run short
    inner = linear_inner(inner_steps=1)
    optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-2))
    setup = MAMLSetup(None, None, inner, 2, optimizer)
    params = linear_params(jax.random.key(1))
    state = MAMLTrainState(params, optimizer.init(params), jax.random.key(2), jnp.zeros((), int))
    jitted, jit_metrics = jax.jit(lambda s: meta_update(s, setup))(state)
    with jax.disable_jit():
        plain, plain_metrics = meta_update(state, setup)
    for a, b in zip(jax.tree.leaves(jitted.params), jax.tree.leaves(plain.params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for name in jit_metrics:
        np.testing.assert_allclose(jit_metrics[name], plain_metrics[name], rtol=1e-4, atol=1e-5)
    assert not np.allclose(jitted.params["params"]["w"], params["params"]["w"])


def test_zero_inner_steps_is_multi_task_policy_gradient():
    trainer = MAMLTrainer(tiny_config(inner_steps=0))
    setup = trainer.setup
    theta = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(2)).params)
    key = jax.random.key(3)
    loss, grads, metrics = jax.jit(lambda k, t: meta_gradient(k, t, setup))(key, theta)
    # the same tasks and episodes by hand: the mean over tasks of the surrogate's gradient
    # (each piece jitted once and reused for the 3 tasks: op by op this took ~16 s in CI)
    task_key, collect_key = jax.random.split(key)
    tasks = jax.vmap(setup.env.sample_task)(jax.random.split(task_key, 3))
    collect_one = jax.jit(lambda k, task: collect(k, theta, task, setup.inner))
    batches = [
        collect_one(k, jax.tree.map(lambda leaf, i=i: leaf[i], tasks))
        for i, k in enumerate(jax.random.split(collect_key, 3))
    ]
    sampler = setup.inner.sampler
    task_loss = jax.jit(lambda batch: surrogate_loss(theta, batch.outer, sampler))
    task_grad = jax.jit(lambda batch: jax.grad(surrogate_loss)(theta, batch.outer, sampler))
    per_task = [task_grad(b) for b in batches]
    expected = jax.tree.map(lambda *g: sum(g) / 3, *per_task)
    for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    losses = [float(task_loss(b)) for b in batches]
    np.testing.assert_allclose(loss, np.mean(losses), rtol=1e-4, atol=1e-5)
    assert float(metrics["return"]) == float(metrics["return/pre_adaptation"])


def test_adaptation_curve_is_the_training_adaptation(trainer):
    setup = trainer.setup
    theta = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(4)).params)
    task = setup.env.sample_task(jax.random.key(5))
    curve = adaptation_returns(jax.random.key(6), theta, setup.inner, task, 2)
    assert curve.shape == (3,)
    two_steps = dataclasses.replace(setup.inner, inner_steps=2)
    expected = stage_returns(collect(jax.random.key(6), theta, task, two_steps))
    np.testing.assert_allclose(curve, expected, rtol=1e-5)
    again = adaptation_returns(jax.random.key(6), theta, setup.inner, task, 2)
    np.testing.assert_array_equal(curve, again)


def test_a_recurrent_core_or_more_than_three_inner_steps_is_refused():
    with pytest.raises(ConfigError) as error:
        load_from_dict({**TINY_RAW, "model": {"name": "gru"}})
    assert error.value.field == "model.name"
    with pytest.raises(ConfigError) as error:
        tiny_config(inner_steps=4)
    assert error.value.field == "maml.inner_steps"


@pytest.mark.parametrize(
    ("setting", "field", "words"),
    [
        ("env.num_envs=7", "maml.meta_batch_size", "a divisor of envs.0.num_envs = 7"),
        ("env.name=simple_spread", "envs.0.name", "a task family"),
    ],
)
def test_bad_maml_config_is_one_line_and_exit_code_2(tmp_path, setting, field, words):
    config = tmp_path / "maml.json"
    config.write_text(json.dumps({**TINY_RAW, "env": {"name": "navigation_2d", "num_envs": 6}}))
    result = run_marlax("train", "-c", str(config), "--set", setting, cwd=tmp_path)
    assert words in assert_refused(result, field), result.stderr
    assert not (tmp_path / "runs").exists()
