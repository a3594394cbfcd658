"""Gumbel-max samples and the Gumbel-softmax relaxation: gradients against finite differences
and the softmax Jacobian, one-hot legal samples under masks, frequencies against softmax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.test_util import check_grads
from scipy import stats

from marlax.algorithms.off_policy import gumbel

LOGITS = jnp.array([[0.5, -1.0, 2.0, 0.0, 1.0], [1.5, 0.3, -0.4, 0.8, -2.0]])
LEGAL = jnp.array([[True, True, False, True, True], [True, False, True, True, False]])
WEIGHTS = jnp.array([[1.0, -2.0, 3.0, 0.5, -1.0], [-0.5, 2.0, 1.0, -3.0, 0.7]])


def _weighted(estimator: str, temperature: float = 0.7):
    key = jax.random.key(0)  # one fixed noise draw: the sample is a smooth function of logits

    def value(logits: jax.Array) -> jax.Array:
        sample = gumbel.relaxed_action(key, logits, LEGAL, temperature, estimator)
        return jnp.sum(WEIGHTS * sample)

    return value


def test_soft_sample_gradient_matches_finite_differences():
    value = jax.jit(_weighted("soft"))
    check_grads(value, (LOGITS,), order=1, modes=("rev",), eps=1e-2, rtol=2e-2)


def test_gradients_equal_the_softmax_jacobian_at_the_noisy_logits():
    """d/dl sum_k w_k y_k with y = softmax((l + g) / t) on the legal entries is
    y * (w - <w, y>) / t (zero on illegal entries), for the soft sample and, at the one-hot
    it outputs, for the straight-through one; the forward values differ as they should."""
    temperature = 0.7
    noise = jax.random.gumbel(jax.random.key(0), LOGITS.shape)
    noisy = jnp.where(LEGAL, LOGITS + noise, -jnp.inf) / temperature
    soft = np.asarray(jax.nn.softmax(noisy, axis=-1))
    weights = np.asarray(WEIGHTS)
    inner = (weights * soft).sum(-1, keepdims=True)
    expected = soft * (weights - inner) / temperature
    for estimator in ("soft", "straight_through"):
        grad = jax.grad(_weighted(estimator, temperature))(LOGITS)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)
        assert np.all(np.asarray(grad)[~np.asarray(LEGAL)] == 0.0)
    action = gumbel.relaxed_action(jax.random.key(0), LOGITS, LEGAL, temperature, "soft")
    np.testing.assert_allclose(action, soft, rtol=1e-6)
    hard = gumbel.relaxed_action(jax.random.key(0), LOGITS, LEGAL, temperature, "straight_through")
    np.testing.assert_allclose(hard, np.eye(5)[soft.argmax(-1)], atol=1e-6)


def test_hard_samples_are_one_hot_legal_and_the_straight_through_forward_value():
    """Over 4000 keys and random masks (one legal action at least per row): Gumbel-max and
    uniform samples are one-hot on a legal action; the straight-through action with the same
    key is the Gumbel-max sample; the soft sample is a distribution with 0 on illegal actions."""
    count, num_actions = 4000, 5
    mask_key, logit_key, sample_key = jax.random.split(jax.random.key(1), 3)
    legal = jax.random.bernoulli(mask_key, 0.5, (count, num_actions))
    legal = legal.at[:, 0].set(legal[:, 0] | ~legal.any(-1))
    logits = 3.0 * jax.random.normal(logit_key, (count, num_actions))
    keys = jax.random.split(sample_key, count)

    @jax.jit
    @jax.vmap
    def _draws(key, logits, legal):
        return (
            gumbel.gumbel_max(key, logits, legal),
            gumbel.uniform_legal(key, legal),
            gumbel.relaxed_action(key, logits, legal, 0.5, "straight_through"),
            gumbel.gumbel_softmax(key, logits, legal, 0.5),
        )

    hard, uniform, straight, soft = _draws(keys, logits, legal)
    legal = np.asarray(legal)
    for one_hot in (np.asarray(hard), np.asarray(uniform)):
        assert set(np.unique(one_hot).tolist()) == {0.0, 1.0}
        np.testing.assert_array_equal(one_hot.sum(-1), 1.0)
        assert legal[np.arange(count), one_hot.argmax(-1)].all()
    np.testing.assert_allclose(straight, hard, atol=1e-6)
    np.testing.assert_allclose(np.asarray(soft).sum(-1), 1.0, rtol=1e-5)
    assert np.all(np.asarray(soft)[~legal] == 0.0)
    greedy = np.asarray(gumbel.greedy_one_hot(logits, jnp.asarray(legal)))
    expected = np.where(legal, np.asarray(logits), -np.inf).argmax(-1)
    np.testing.assert_array_equal(greedy.argmax(-1), expected)


def test_sample_frequencies_match_the_masked_softmax():
    """20000 Gumbel-max draws per row: a chi-square test of the counts against
    softmax(masked logits) (illegal actions never drawn) does not reject at the 0.1% level;
    the uniform draw's counts likewise against 1 / (legal count)."""
    count = 20_000
    keys = jax.random.split(jax.random.key(2), count)

    @jax.jit
    def _counts(keys):
        """f32[2, 5] per row: Gumbel-max counts on LOGITS, uniform counts."""
        hard = jax.vmap(gumbel.gumbel_max, in_axes=(0, None, None))(keys, LOGITS, LEGAL)
        uniform = jax.vmap(gumbel.uniform_legal, in_axes=(0, None))(keys, LEGAL)
        return hard.sum(0), uniform.sum(0)

    sampled, uniform = _counts(keys)
    for counts, logits in ((sampled, LOGITS), (uniform, jnp.zeros_like(LOGITS))):
        counts = np.asarray(counts)
        probs = np.asarray(jax.nn.softmax(gumbel.masked_logits(logits, LEGAL), axis=-1))
        for row in range(2):
            allowed = np.asarray(LEGAL[row])
            assert counts[row][~allowed].sum() == 0
            observed, expected = counts[row][allowed], count * probs[row][allowed]
            statistic = ((observed - expected) ** 2 / expected).sum()
            assert statistic < stats.chi2.ppf(0.999, allowed.sum() - 1), (observed, expected)


def test_logit_penalty_by_hand():
    logits = jnp.array([[1.0, -2.0], [0.0, 3.0]])
    np.testing.assert_allclose(gumbel.logit_penalty(logits), (1 + 4 + 0 + 9) / 4)
