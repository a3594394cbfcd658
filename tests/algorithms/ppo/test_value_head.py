"""The HL-Gauss value head in PPO: head shapes, which model gets the logits, replay = acting."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.common.hl_gauss import HLGauss, expected_value
from marlax.algorithms.ppo.learn import ppo_loss
from marlax.algorithms.ppo.trainer import Trainer
from marlax.errors import ConfigError
from marlax.models.heads import PolicyValueHead
from tests.algorithms.ppo.helpers import tiny_config
from tests.algorithms.ppo.test_trainer import _first_rollout_batch

HL_GAUSS = {"value_head": "hl_gauss", "value_clip_eps": None, "value_bins": 11}
CRITICS = ["independent", "centralised", "shared"]


def _hl_gauss_trainer(critic: str, model: str = "mlp", **overrides) -> Trainer:
    ppo = {**HL_GAUSS, "critic": critic, **overrides}
    return Trainer(tiny_config(model=model, env_params={"max_steps": 3}, ppo=ppo))


def test_scalar_head_keeps_its_parameter_tree(key):
    """value_bins = 1 is today's head: same names, shapes and values for the same key."""
    hidden = jax.random.normal(key, (2, 3, 8))
    today = PolicyValueHead(5).init(key, hidden)
    scalar = PolicyValueHead(5, value_bins=1).init(key, hidden)
    assert jax.tree.structure(today) == jax.tree.structure(scalar)
    for a, b in zip(jax.tree.leaves(today), jax.tree.leaves(scalar), strict=True):
        np.testing.assert_array_equal(a, b)
    assert scalar["params"]["value"]["kernel"].shape == (8, 1)
    _, value = PolicyValueHead(5).apply(scalar, hidden)
    assert value.shape == (2, 3)


@pytest.mark.parametrize("continuous", [False, True])
def test_histogram_head_gives_value_logits(key, continuous):
    hidden = jax.random.normal(key, (2, 3, 8))
    head = PolicyValueHead(4, continuous, value_bins=7)
    params = head.init(key, hidden)
    assert params["params"]["value"]["kernel"].shape == (8, 7)
    policy, value = head.apply(params, hidden)
    assert value.shape == (2, 3, 7)
    assert jax.tree.leaves(policy)[0].shape == (2, 3, 4)


@pytest.mark.parametrize("bins", [0, 2.5, True])
def test_head_rejects_a_bad_bin_count(bins):
    with pytest.raises(ConfigError, match="value_bins"):
        PolicyValueHead(3, value_bins=bins)


@pytest.mark.parametrize("critic", CRITICS)
def test_only_the_value_model_gets_histogram_logits(key, critic):
    trainer = _hl_gauss_trainer(critic)
    networks = trainer.networks
    assert networks.value_histogram == HLGauss(-10.0, 10.0, 11, 0.75)
    params = networks.init(key, trainer.layout)
    actor_bins = params["actor"]["params"]["head"]["value"]["kernel"].shape[-1]
    assert actor_bins == (11 if critic == "shared" else 1)
    if critic != "shared":
        assert _value_kernel(params, "critic").shape[-1] == 11


def test_mse_head_has_no_histogram():
    trainer = Trainer(tiny_config(ppo={"critic": "shared"}))
    assert trainer.networks.value_histogram is None
    assert trainer.networks.actor.head.value_bins == 1


def _check_replay_reproduces_acting(trainer: Trainer, key: jax.Array) -> None:
    """Before any gradient step: ratio 1, KL 0, and the rollout's values (the expectation of
    the logits when acting) equal the expectation of the logits the loss replays; the value
    loss is the cross-entropy of those logits against the GAE targets."""
    state, transitions, batch = _first_rollout_batch(trainer, key)
    assert bool(transitions.done.any())
    _, metrics = ppo_loss(state.params, trainer.networks, batch, trainer.ppo)
    np.testing.assert_allclose(metrics.approx_kl, 0.0, atol=1e-6)
    assert float(metrics.clip_fraction) == 0.0
    t = batch.transition
    *_, logits = trainer.networks.evaluate(
        state.params,
        batch.actor_carry,
        batch.critic_carry,
        t.model_obs,
        batch.critic,
        t.reset,
        sequence=True,
        value_logits=True,
    )
    assert logits.shape == (*batch.targets.shape, 11)
    np.testing.assert_allclose(expected_value(logits, -10.0, 10.0), t.value, atol=1e-5)
    histogram = trainer.networks.value_histogram
    np.testing.assert_allclose(metrics.value, histogram.loss(logits, batch.targets, batch.weight))
    # a cross-entropy is above the targets' entropy (> 0), and finite
    assert 0.0 < float(metrics.value) < 1e3


def _value_kernel(params: dict, owner: str) -> jax.Array:
    """The value head's kernel of the actor or critic (a centralised critic's head sits in its
    per-agent torso)."""
    model = params[owner]["params"]
    return model.get("torso", model)["head"]["value"]["kernel"]


def _check_one_update(trainer: Trainer, key: jax.Array, owner: str) -> None:
    """One jitted update: every metric finite, the value model's logits kernel moved."""
    state = trainer.init(key)
    before = np.array(_value_kernel(state.params, owner))  # update donates
    updated, metrics = trainer.update(state)
    for name, value in metrics.items():
        assert bool(np.all(np.isfinite(np.asarray(value)))), name
    assert float(np.asarray(metrics["loss/value"]).min()) > 0.0
    after = _value_kernel(updated.params, owner)
    assert after.shape[-1] == 11 and not np.allclose(before, after)


@pytest.mark.parametrize(
    ("model", "critic"),
    [("gru", "independent"), ("mlp", "centralised"), ("mlp", "shared")],
)
def test_replay_reproduces_acting_with_histogram_values(key, model, critic):
    """Episodes of 3 steps end inside the 8-step rollout, so the GRU replay resets its memory
    where acting did."""
    _check_replay_reproduces_acting(_hl_gauss_trainer(critic, model), key)


@pytest.mark.parametrize(
    "critic",
    [
        "shared",
        # 20-25 s each on the shared 2-core machine (compiling a whole update): full tier
        pytest.param("independent", marks=pytest.mark.slow),
        pytest.param("centralised", marks=pytest.mark.slow),
    ],
)
def test_one_update_is_finite_and_moves_the_value_logits(key, critic):
    trainer = _hl_gauss_trainer(critic)
    _check_one_update(trainer, key, "actor" if critic == "shared" else "critic")


def test_value_clipping_with_hl_gauss_is_a_config_error():
    with pytest.raises(ConfigError, match=r"ppo\.value_clip_eps"):
        tiny_config(ppo={"value_head": "hl_gauss", "value_clip_eps": 0.2})
    assert tiny_config(ppo=HL_GAUSS).ppo.value_clip_eps is None


def test_evaluate_gives_the_expected_value_unless_asked_for_logits(key):
    """`evaluate` without `value_logits` gives one f32 value per agent, as acting reads."""
    trainer = _hl_gauss_trainer("independent")
    networks, layout = trainer.networks, trainer.layout
    params = networks.init(key, layout)
    batch = (2, layout.max_agents)
    obs = jnp.zeros((*batch, *layout.observation_space.shape))
    carries = networks.initialize_carry(batch)
    reset = jnp.ones(batch, bool)
    *_, value = networks.evaluate(params, *carries, obs, jnp.zeros((*batch, 0)), reset)
    *_, logits = networks.evaluate(
        params, *carries, obs, jnp.zeros((*batch, 0)), reset, value_logits=True
    )
    assert value.shape == batch and value.dtype == jnp.float32
    np.testing.assert_allclose(value, expected_value(logits, -10.0, 10.0), atol=1e-6)
