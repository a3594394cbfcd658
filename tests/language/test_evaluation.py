"""Perplexity of members and ensembles: windows, a hand-computed mixture, model invariants."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.language import (
    CausalDecoder,
    DecoderConfig,
    MemberGroup,
    TrainConfig,
    eval_windows,
    init_members,
    log_likelihood_sums,
    mean_log_likelihoods,
    perplexity,
    window_loss,
)

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("language.test_evaluation")


def test_eval_windows_are_non_overlapping_and_share_one_token():
    stream = np.arange(11, dtype=np.uint8)
    np.testing.assert_array_equal(
        eval_windows(stream, 3), [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    )
    np.testing.assert_array_equal(eval_windows(stream, 3, max_windows=1), [[0, 1, 2, 3]])


def test_ensemble_perplexity_by_hand():
    """Two members, one window of two predicted tokens, three classes."""
    probs = jnp.array(
        [
            [[[0.5, 0.25, 0.25], [0.2, 0.6, 0.2]]],  # member 1
            [[[0.25, 0.5, 0.25], [0.2, 0.2, 0.6]]],  # member 2
        ]
    )  # f32[K=2, B=1, T=2, V=3]
    targets = jnp.array([[0, 1]])
    weight_sets = jnp.array([[0.5, 0.5], [0.75, 0.25], [1.0, 0.0]])
    members, ensembles = log_likelihood_sums(jnp.log(probs), targets, weight_sets)
    np.testing.assert_allclose(members, [math.log(0.5 * 0.6), math.log(0.25 * 0.2)], rtol=1e-6)
    # uniform: p(0) = 0.375 then p(1) = 0.4; weighted 3:1: 0.4375 then 0.5
    expected = [math.log(0.375 * 0.4), math.log(0.4375 * 0.5), math.log(0.5 * 0.6)]
    np.testing.assert_allclose(ensembles, expected, rtol=1e-6)
    np.testing.assert_allclose(perplexity(ensembles[0] / 2), 1 / math.sqrt(0.15), rtol=1e-6)
    # log of a mean >= mean of logs (Jensen): the average beats the members' mean log-likelihood
    assert ensembles[0] > members.mean()


@pytest.fixture(scope="module")
def group():
    config = DecoderConfig(d_model=16, num_layers=1, num_heads=2, context_length=6)
    keys = jnp.stack([jax.random.key(5), jax.random.key(6)])
    init = jax.jit(init_members, static_argnums=(1, 2))  # op by op it took ~17 s in CI
    return MemberGroup(config, init(keys, config, TrainConfig()).params)


def test_member_perplexity_matches_the_training_loss(group):
    windows = eval_windows(np.random.default_rng(0).integers(0, 97, 100).astype(np.uint8), 6)
    weight_sets = np.array([[0.5, 0.5], [0.0, 1.0]], np.float32)
    members, ensembles = mean_log_likelihoods([group], windows, weight_sets, batch_size=5)
    model = CausalDecoder(group.config)
    loss_of = jax.jit(window_loss, static_argnums=1)  # one compile for both members
    for member in range(2):
        params = jax.tree.map(lambda leaf, m=member: leaf[m], group.params)
        loss = loss_of(params, model, jnp.asarray(windows))
        np.testing.assert_allclose(members[member], -float(loss), rtol=1e-5)
    np.testing.assert_allclose(ensembles[1], members[1], rtol=1e-5)  # all weight on member 2
    assert ensembles[0] >= members.mean() - 1e-6  # log of a mean >= mean of logs (Jensen)


def test_groups_of_different_shapes_meet_on_one_member_axis(group):
    windows = eval_windows(np.arange(60, dtype=np.uint8) % 97, 6)
    first = MemberGroup(group.config, jax.tree.map(lambda leaf: leaf[:1], group.params))
    second = MemberGroup(group.config, jax.tree.map(lambda leaf: leaf[1:], group.params))
    weights = np.array([[0.3, 0.7]], np.float32)
    split = mean_log_likelihoods([first, second], windows, weights)
    joint = mean_log_likelihoods([group], windows, weights)
    for apart, together in zip(split, joint, strict=True):
        np.testing.assert_allclose(apart, together, rtol=1e-5)
