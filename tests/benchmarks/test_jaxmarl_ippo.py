"""The JaxMARL IPPO port (`benchmarks/jaxmarl_ippo.py`): shapes, determinism, episode logging."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests.benchmarks.loader import load_benchmark

pytest.importorskip("jaxmarl")
pytest.importorskip("jaxmarl.wrappers.baselines")  # needs gymnax, which needs six

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [pytest.mark.jaxmarl, pytest.mark.xdist_group("benchmarks.test_jaxmarl_ippo")]

NUM_ENVS, NUM_STEPS, NUM_UPDATES = 4, 8, 4  # 32 steps: the first episode ends in update 4
METRIC_KEYS = {
    "returned_episode_returns",
    "returned_episode_lengths",
    "returned_episode",
    "total_loss",
    "actor_loss",
    "critic_loss",
    "entropy",
    "ratio",
    "ratio0",
}


@pytest.fixture(scope="module")
def port():
    return load_benchmark("jaxmarl_ippo")


@pytest.fixture(scope="module")
def train(port):
    config = dict(
        port.JAXMARL_IPPO_MPE_CONFIG,
        NUM_ENVS=NUM_ENVS,
        NUM_STEPS=NUM_STEPS,
        TOTAL_TIMESTEPS=NUM_ENVS * NUM_STEPS * NUM_UPDATES,
    )
    with jax.numpy_rank_promotion("allow"):  # JaxMARL's own code relies on implicit promotion
        return jax.jit(port.make_train(config)).lower(jax.random.key(0)).compile()


@pytest.fixture(scope="module")
def metrics(train):
    return jax.tree.map(np.asarray, train(jax.random.key(0))["metrics"])


def test_metrics_have_the_documented_shape_and_are_finite(metrics):
    assert set(metrics) == METRIC_KEYS
    for name, values in metrics.items():
        assert values.shape == (NUM_UPDATES,), name
        assert values.dtype == np.float32, name
        assert np.isfinite(values).all(), name


def test_episode_logging_matches_jaxmarls_26_step_episode(metrics):
    # JaxMARL's MPE (max_steps=25) reports done on the 26th step call, logged length 26
    # (mpe2 and marlax stop after 25). No episode ends in steps 1-24 (updates 1-3): held 0.
    np.testing.assert_array_equal(metrics["returned_episode_returns"][:3], 0.0)
    # update 4 holds steps 25..32: step 26 ends the episode, 7 of 8 steps then hold it
    np.testing.assert_allclose(metrics["returned_episode_lengths"], [0, 0, 0, 26 * 7 / 8])
    np.testing.assert_allclose(metrics["returned_episode"], [0, 0, 0, 1 / NUM_STEPS])
    # simple_spread rewards are <= 0 and a random start never covers every landmark
    assert metrics["returned_episode_returns"][3] < 0.0


def test_learning_signals_are_plausible(metrics):
    # a fresh policy (logits near 0 from the 0.01-gain init) is near uniform over 5 actions
    assert abs(metrics["entropy"][0] - math.log(5)) < 1e-2
    # ratio0 is the first minibatch of the first epoch: the policy has not moved yet
    np.testing.assert_allclose(metrics["ratio0"], 1.0, atol=1e-5)


def test_same_key_gives_identical_output_and_another_key_differs(train, metrics):
    again = jax.tree.map(np.asarray, train(jax.random.key(0))["metrics"])
    for name in METRIC_KEYS:
        np.testing.assert_array_equal(again[name], metrics[name])
    other = np.asarray(train(jax.random.key(1))["metrics"]["total_loss"])
    assert not np.array_equal(other, metrics["total_loss"])


def test_categorical_matches_hand_computed_values(port):
    dist = port._Categorical(jnp.log(jnp.array([1.0, 2.0, 3.0])) + 5.0)  # shift-invariant
    np.testing.assert_allclose(dist.log_prob(jnp.array(2)), math.log(0.5), rtol=1e-6)
    probs = np.array([1, 2, 3]) / 6
    np.testing.assert_allclose(dist.entropy(), -(probs * np.log(probs)).sum(), rtol=1e-6)
    draws = dist.sample(jax.random.key(0))
    assert draws.shape == () and draws.dtype == jnp.int32 and 0 <= int(draws) < 3
