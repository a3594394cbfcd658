"""The self-supervised next-observation head: its targets, its loss term, what it may adapt."""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.learn import (
    _minibatches,
    next_obs_error,
    next_observations,
    ppo_loss,
    rollout_batch,
)
from marlax.algorithms.ppo.rollout import rollout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.models.next_obs import adaptable_mask, count_adaptable
from marlax.models.registry import make_model_for_spaces

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("algorithms.ppo.test_next_obs_head")

HEAD_MODEL = {"next_obs_head": True, "encoder": {"hidden_sizes": [8], "layer_norm": True}}


def _transitions(obs: np.ndarray, done: np.ndarray):
    """A stand-in for a rollout's Transition: only the fields the targets read."""

    class _T:
        model_obs = jnp.asarray(obs)
        done = None

    _T.done = jnp.asarray(done)
    return _T


def test_targets_are_the_next_step_of_the_same_episode():
    # T = 4 steps, B = 1 env, N = 2 agents, D = 1; the episode ends at step 1
    obs = np.arange(8, dtype=np.float32).reshape(4, 1, 2, 1)
    done = np.zeros((4, 1, 2), bool)
    done[1] = True
    next_obs, has_next = next_observations(_transitions(obs, done))
    np.testing.assert_array_equal(next_obs[:3], obs[1:])
    np.testing.assert_array_equal(next_obs[3], 0.0)
    # step 1 ends its episode (step 2 is a reset observation); step 3 is the rollout's last
    np.testing.assert_array_equal(has_next[:, 0, 0], [True, False, True, False])


def test_error_is_the_weighted_mean_of_the_summed_squares():
    predicted = jnp.asarray([[1.0, 2.0], [0.0, 0.0], [3.0, 3.0]])
    target = jnp.asarray([[0.0, 0.0], [5.0, 5.0], [1.0, 1.0]])
    weight = jnp.asarray([1.0, 0.0, 1.0])
    # (1 + 4) and (4 + 4) are counted, the middle row is not
    assert float(next_obs_error(predicted, target, weight)) == pytest.approx((5.0 + 8.0) / 2)


@pytest.fixture(scope="module")
def trainer_and_batch():
    """A feed-forward actor with the head on simple_spread; one rollout's learning batch
    (targets are taken before the batch is shuffled into single steps)."""
    config = load_from_dict(
        {
            "env": {"name": "simple_spread", "num_envs": 4},
            "model": {"name": "mlp", "core": {"hidden_sizes": [16]}, **HEAD_MODEL},
            "ppo": {"total_env_steps": 32, "rollout_length": 8, "num_minibatches": 2},
        }
    )
    trainer = Trainer(config)
    state = jax.tree.map(lambda leaf: leaf[0], trainer.init(jax.random.key(0)))
    play = jax.jit(
        lambda p, r: rollout(jax.random.key(1), trainer.layout, trainer.networks, p, r, 8)
    )
    _, transitions, _, last_value = play(state.params, state.runner)
    batch = rollout_batch(
        trainer.networks,
        trainer.layout.agent_valid,
        transitions,
        last_value,
        state.runner,
        config.ppo,
    )
    minibatch = jax.tree.map(lambda leaf: leaf[0], _minibatches(jax.random.key(2), batch, 2))
    return trainer, state.params, minibatch


def test_loss_adds_exactly_coef_times_the_prediction_error(trainer_and_batch):
    trainer, params, minibatch = trainer_and_batch
    ppo = trainer.config.ppo
    with_head, metrics = ppo_loss(params, trainer.networks, minibatch, ppo)
    no_aux = dataclasses.replace(ppo, next_obs_coef=0.0)
    without, _ = ppo_loss(params, trainer.networks, minibatch, no_aux)
    assert float(metrics.next_obs) > 0.0
    np.testing.assert_allclose(
        float(with_head) - float(without), ppo.next_obs_coef * float(metrics.next_obs), rtol=1e-5
    )
    # the error the loss reports is the head's on this minibatch, recomputed by hand
    t = minibatch.transition
    _, (_, _, predicted) = trainer.networks.actor.apply(
        params["actor"],
        minibatch.actor_carry,
        t.model_obs,
        t.reset,
        t.action,
        method="sequence_with_next_obs",
    )
    squared = jnp.sum((predicted - minibatch.next_obs) ** 2, axis=-1)
    by_hand = jnp.sum(squared * minibatch.next_obs_weight) / jnp.sum(minibatch.next_obs_weight)
    np.testing.assert_allclose(float(metrics.next_obs), float(by_hand), rtol=1e-5)


def test_head_learns_only_from_its_own_loss_term(trainer_and_batch):
    trainer, params, minibatch = trainer_and_batch
    ppo = trainer.config.ppo
    no_aux = dataclasses.replace(ppo, next_obs_coef=0.0)
    grads = jax.jit(jax.grad(lambda p: ppo_loss(p, trainer.networks, minibatch, no_aux)[0]))(params)
    head = grads["actor"]["params"]["next_obs"]
    assert all(float(jnp.abs(leaf).max()) == 0.0 for leaf in jax.tree.leaves(head))
    grads = jax.jit(jax.grad(lambda p: ppo_loss(p, trainer.networks, minibatch, ppo)[0]))(params)
    head = grads["actor"]["params"]["next_obs"]
    assert all(float(jnp.abs(leaf).max()) > 0.0 for leaf in jax.tree.leaves(head))


def test_sequence_with_next_obs_gives_the_plain_sequence_outputs():
    model = make_model_for_spaces(
        "gru",
        Box(-1.0, 1.0, (5,)),
        Discrete(4),
        encoder_settings={"layer_norm": True},
        next_obs_head=True,
        hidden_size=8,
    )
    obs = jax.random.normal(jax.random.key(0), (6, 3, 5))
    reset = jnp.zeros((6, 3), bool).at[0].set(True).at[3, 1].set(True)
    actions = jax.random.randint(jax.random.key(1), (6, 3), 0, 4)
    carry = model.initialize_carry((3,))
    params = model.init(jax.random.key(2), carry, obs[0], reset[0])
    plain_carry, (logits, value) = jax.jit(partial(model.apply, method="sequence"))(
        params, carry, obs, reset
    )
    head_carry, (logits2, value2, predicted) = jax.jit(
        partial(model.apply, method="sequence_with_next_obs")
    )(params, carry, obs, reset, actions)
    np.testing.assert_array_equal(logits, logits2)
    np.testing.assert_array_equal(value, value2)
    np.testing.assert_array_equal(plain_carry, head_carry)
    assert predicted.shape == (6, 3, 5)


def test_adaptable_parameters_are_the_head_and_the_norms():
    model = make_model_for_spaces(
        "s5", Box(-1.0, 1.0, (5,)), Box(-1.0, 1.0, (2,)), next_obs_head=True
    )
    carry = model.initialize_carry((1,))
    params = jax.eval_shape(  # shapes are enough: the mask goes by names
        lambda: model.init(jax.random.key(0), carry, jnp.zeros((1, 5)), jnp.ones((1,), bool))
    )
    mask = adaptable_mask(params)
    flat = {
        "/".join(str(getattr(part, "key", part)) for part in path): adaptable
        for path, adaptable in jax.tree_util.tree_flatten_with_path(mask)[0]
    }
    assert flat["params/core/layers_0/norm/scale"] and flat["params/next_obs/Dense_0/kernel"]
    assert not flat["params/head/policy/kernel"] and not flat["params/encoder/Dense_0/kernel"]
    trunk, head = count_adaptable(params)
    assert trunk > 0 and head > 0


def test_encoder_layer_norm_normalises_each_layer_before_its_activation():
    model = make_model_for_spaces(
        "mlp", Box(-1.0, 1.0, (5,)), Discrete(3), encoder_settings={"layer_norm": True}
    )
    carry = model.initialize_carry((4,))
    obs = 10.0 * jax.random.normal(jax.random.key(0), (4, 5))
    params = model.init(jax.random.key(1), carry, obs, jnp.ones((4,), bool))
    assert set(params["params"]["encoder"]) == {"Dense_0", "norm_0"}
    features = model.encoder.apply({"params": params["params"]["encoder"]}, obs)
    # tanh of a unit-variance, zero-mean layer: no unit is saturated by the x10 input scale
    assert float(jnp.abs(features).max()) < 1.0 - 1e-3


@pytest.mark.parametrize(
    ("name", "space", "encoder", "field"),
    [
        ("mlp", Box(-1.0, 1.0, (5,)), {}, "model.encoder.layer_norm"),
        ("gru", Box(-1.0, 1.0, (5,)), {}, "model.encoder.layer_norm"),
        ("gru", Box(0, 3, (5, 5, 2), dtype=jnp.int32), {}, "model.next_obs_head"),
    ],
)
def test_a_head_without_anything_to_adapt_is_refused(name, space, encoder, field):
    with pytest.raises(ConfigError) as error:
        make_model_for_spaces(
            name, space, Discrete(3), encoder_settings=encoder, next_obs_head=True
        )
    assert error.value.field == field
