"""SAC's squashed Gaussian (change of variables), the temperature's gradient sign, and the
losses under jit."""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.off_policy import maddpg, sac
from marlax.algorithms.off_policy.learn import sac_step
from tests.algorithms.off_policy.helpers import learner_state, random_batch, tiny_setup


def test_squashed_log_prob_is_the_change_of_variables_in_float64():
    """log pi(tanh u) = log N(u; m, s) - sum log(1 - tanh(u)^2), checked against NumPy in
    float64 for moderate u, and finite (no log 0) where tanh(u) rounds to 1 in float32."""
    mean = np.array([0.3, -1.0])
    std = np.array([0.8, 0.5])
    pre_tanh = np.array([[0.1, -0.7], [2.0, -3.0], [-1.5, 0.4]])
    gaussian = -0.5 * ((pre_tanh - mean) / std) ** 2 - np.log(std) - 0.5 * math.log(2 * math.pi)
    expected = (gaussian - np.log(1.0 - np.tanh(pre_tanh) ** 2)).sum(-1)
    got = sac.squashed_log_prob(
        jnp.asarray(pre_tanh, jnp.float32),
        jnp.asarray(np.broadcast_to(mean, pre_tanh.shape), jnp.float32),
        jnp.asarray(np.broadcast_to(np.log(std), pre_tanh.shape), jnp.float32),
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    far = sac.squashed_log_prob(jnp.array([20.0, -20.0]), jnp.zeros(2), jnp.zeros(2))
    assert np.isfinite(float(far))


def test_squashed_density_integrates_to_one_and_matches_samples():
    """In one dimension exp(log pi(a)) integrates to 1 over (-1, 1), and the mean of
    tanh-samples equals the integral of a pi(a)."""
    count = 200_001
    actions = jnp.linspace(-1.0 + 1e-6, 1.0 - 1e-6, count)
    mean = jnp.full((count, 1), 0.4)
    log_std = jnp.full((count, 1), math.log(0.7))
    density = jnp.exp(sac.squashed_log_prob(jnp.arctanh(actions)[:, None], mean, log_std))
    np.testing.assert_allclose(float(jnp.trapezoid(density, actions)), 1.0, atol=1e-3)
    samples, log_probs = sac.sample_squashed(jax.random.key(0), mean[:100_000], log_std[:100_000])
    expected_mean = float(jnp.trapezoid(actions * density, actions))
    np.testing.assert_allclose(float(samples.mean()), expected_mean, atol=0.01)
    # the sample's own log-density is the squashed one at its pre-image
    again = sac.squashed_log_prob(jnp.arctanh(samples[:5]), mean[:5], log_std[:5])
    np.testing.assert_allclose(log_probs[:5], again, rtol=1e-3)


def test_alpha_gradient_raises_alpha_when_entropy_is_below_target():
    target_entropy = -2.0
    low_entropy = jnp.full((4, 3), 5.0)  # -log pi = -5 < -2
    high_entropy = jnp.full((4, 3), -1.0)  # -log pi = 1 > -2
    log_alpha = jnp.float32(math.log(0.1))
    assert jax.grad(sac.alpha_loss)(log_alpha, low_entropy, target_entropy) < 0.0
    assert jax.grad(sac.alpha_loss)(log_alpha, high_entropy, target_entropy) > 0.0


def test_a_sac_step_moves_alpha_towards_the_entropy_target():
    """The freshly initialised actor's entropy (a few nats below 0) is above a target of -20,
    so alpha falls; with a target of +5 it rises."""
    batch = random_batch(jax.random.key(1), tiny_setup("sac"), size=8)
    moved = {}
    for target_entropy in (-20.0, 5.0):
        setup = tiny_setup("sac", target_entropy=target_entropy)
        state = learner_state(jax.random.key(0), setup)
        after, metrics = jax.jit(partial(sac_step, setup=setup))(state, batch, jax.random.key(2))
        moved[target_entropy] = float(after.log_alpha - state.log_alpha)
        assert -20.0 < float(metrics["entropy"]) < 5.0
    assert moved[-20.0] < 0.0 < moved[5.0]


def _losses(algorithm: str, networks, params, batch, key):
    """(critic loss, actor loss) of `algorithm` with the online networks as targets."""
    if algorithm == "maddpg":
        return (
            maddpg.critic_loss(params["critic"], params, batch, key, networks, 0.9).loss,
            maddpg.actor_loss(params["actor"], params["critic"], batch, key, networks),
        )
    alpha = jnp.float32(0.3)
    critic, actor = params["critic"], params["actor"]
    return (
        sac.critic_loss(critic, critic, actor, alpha, batch, key, networks, 0.9).loss,
        sac.actor_loss(actor, critic, alpha, batch, key, networks).loss,
    )


def test_losses_under_jit_equal_the_eager_ones():
    key = jax.random.key(3)
    for algorithm in ("maddpg", "sac"):
        setup = tiny_setup(algorithm)
        params = setup.networks.init(jax.random.key(4))
        batch = random_batch(jax.random.key(5), setup)
        eager = _losses(algorithm, setup.networks, params, batch, key)
        jitted = jax.jit(_losses, static_argnums=(0, 1))(
            algorithm, setup.networks, params, batch, key
        )
        np.testing.assert_allclose(eager, jitted, rtol=1e-5, atol=1e-6)
        assert all(np.isfinite(value) for value in eager)
