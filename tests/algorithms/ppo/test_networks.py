"""Networks: memory read off the model, one evaluation for acting and learning."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.trainer import Trainer
from tests.algorithms.ppo.helpers import tiny_config


@pytest.mark.parametrize(("model", "feed_forward"), [("mlp", True), ("gru", False), ("ssm", False)])
def test_feed_forward_is_read_off_the_actor_memory(model, feed_forward):
    assert Trainer(tiny_config(model=model)).networks.feed_forward is feed_forward


@pytest.mark.parametrize("critic", ["independent", "centralised"])
def test_sequence_evaluation_equals_stepwise_evaluation(key, critic):
    """`evaluate(sequence=True)` over T steps (the loss) equals T one-step calls (acting),
    resets included: the one function both read."""
    trainer = Trainer(tiny_config(model="gru", ppo={"critic": critic}))
    networks, layout = trainer.networks, trainer.layout
    params = networks.init(key, layout)
    steps, batch = 5, (2, layout.max_agents)
    obs_key, critic_key = jax.random.split(jax.random.key(1))
    obs = jax.random.normal(obs_key, (steps, *batch, *layout.observation_space.shape))
    size = layout.critic_size() if critic == "centralised" else 0
    critic_state = jax.random.normal(critic_key, (steps, batch[0], size))  # one per env
    reset = jnp.zeros((steps, *batch), bool).at[0].set(True).at[3, 0].set(True)
    carries = networks.initialize_carry(batch)
    *_, policy_seq, value_seq = networks.evaluate(
        params, *carries, obs, critic_state, reset, sequence=True
    )
    actor_carry, critic_carry = carries
    for t in range(steps):
        actor_carry, critic_carry, policy, value = networks.evaluate(
            params, actor_carry, critic_carry, obs[t], critic_state[t], reset[t]
        )
        np.testing.assert_allclose(policy, policy_seq[t], rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(value, value_seq[t], rtol=1e-5, atol=1e-5)
