"""The PBT trainer: plain PPO when exploiting is off, bitwise copies when it is on, and
config errors that name their field."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from marlax.errors import ConfigError
from tests.algorithms.pbt.helpers import tiny_pbt, tiny_pbt_raw


def _plain(leaf: jax.Array) -> np.ndarray:
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return np.asarray(jax.random.key_data(leaf))
    return np.asarray(leaf)


def _assert_trees_equal(actual, expected) -> None:
    for a, b in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_array_equal(_plain(a), _plain(b))


@pytest.mark.slow
def test_without_exploiting_every_member_trains_exactly_as_ppo(key):
    """Interval past the run, members starting at PPO's settings: PPO's seeds, bitwise
    (the per-member learning rate, entropy and clip enter as traced values)."""
    config = tiny_pbt(members=2, updates=3, interval=100, init="config")
    trainer = PBTTrainer(config)
    population, metrics = trainer.update(trainer.init(key), 3)
    ppo = Trainer(config)
    state, ppo_metrics = ppo.update(ppo.init(key), 3)
    _assert_trees_equal(population.train, state)
    np.testing.assert_array_equal(metrics["loss/total"], ppo_metrics["loss/total"])
    np.testing.assert_array_equal(metrics["pbt/exploited"], np.zeros((2, 3)))


@pytest.mark.slow
def test_exploit_copies_parameters_and_optimiser_state_bitwise(key):
    trainer = PBTTrainer(tiny_pbt(members=4, updates=2, interval=100))
    state, _ = trainer.update(trainer.init(key), 1)  # a non-trivial optimiser state
    # fitness [1, 4, 2, 3]: bottom quantile {0}, top {1} (ceil(0.25 * 4) = 1 member each)
    state = state.replace(
        return_sum=jnp.array([2.0, 8.0, 4.0, 6.0]), return_count=jnp.full((4,), 2.0)
    )
    before = jax.device_get(state)
    after, source = jax.jit(trainer._exploit)(state)
    np.testing.assert_array_equal(source, [1, 1, 2, 3])
    for member, origin in enumerate([1, 1, 2, 3]):
        pick = lambda tree, m: jax.tree.map(lambda leaf: leaf[m], tree)  # noqa: E731
        _assert_trees_equal(pick(after.train.params, member), pick(before.train.params, origin))
        _assert_trees_equal(
            pick(after.train.opt_state, member), pick(before.train.opt_state, origin)
        )
    # episodes in flight and keys stay each member's own; the interval starts again
    _assert_trees_equal(after.train.runner, before.train.runner)
    _assert_trees_equal(after.train.key, before.train.key)
    np.testing.assert_array_equal(after.fitness, [1.0, 4.0, 2.0, 3.0])
    np.testing.assert_array_equal(after.return_count, np.zeros(4))
    # the kept members keep their hyperparameters; member 0 explored from member 1's
    for name in ("learning_rate", "entropy_coef", "clip_eps"):
        new, old = getattr(after.hyperparams, name), getattr(before.hyperparams, name)
        np.testing.assert_array_equal(new[1:], old[1:])
        assert new[0] != old[0]


@pytest.mark.parametrize(
    ("pbt", "run", "field"),
    [
        ({}, {"num_seeds": 1}, "run.num_seeds"),
        ({"quantile": 0.75}, {}, "pbt.quantile"),
        ({"interval": 0}, {}, "pbt.interval"),
        ({"resample_probability": 1.5}, {}, "pbt.resample_probability"),
        ({"clip_eps_range": [0.1, 1.5]}, {}, "pbt.clip_eps_range"),
        ({"learning_rate_range": [0.0, 0.1]}, {}, "pbt.learning_rate_range"),
        ({"perturb_factors": [1.2, 0.8]}, {}, "pbt.perturb_factors"),
        ({"init": "random"}, {}, "pbt.init"),
        ({"intervall": 3}, {}, "pbt.intervall"),
    ],
)
def test_config_errors_name_the_field(pbt, run, field):
    raw = tiny_pbt_raw(**pbt)
    raw["run"].update(run)
    with pytest.raises(ConfigError) as error:
        load_from_dict(raw)
    assert error.value.field == field


def test_ppo_budget_check_applies_to_pbt():
    raw = tiny_pbt_raw()
    raw["ppo"]["total_env_steps"] = 8
    with pytest.raises(ConfigError) as error:
        load_from_dict(raw)
    assert error.value.field == "ppo.total_env_steps"
