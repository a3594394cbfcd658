"""The actor as a `MemoryPolicy`: deterministic play is mu(o) (MADDPG) or tanh(mean) (SAC)
mapped onto the env's box; sampling explores."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.common.policy import MemoryPolicy
from marlax.algorithms.off_policy.policy import ActorPolicy
from tests.algorithms.off_policy.helpers import tiny_setup


def test_deterministic_and_sampled_play_for_both_learners():
    for algorithm in ("maddpg", "sac"):
        setup = tiny_setup(algorithm)
        env, networks = setup.env, setup.networks
        actor = networks.init(jax.random.key(0))["actor"]
        obs, state = env.reset(jax.random.key(1))
        policy = ActorPolicy(actor, networks)
        assert isinstance(policy, MemoryPolicy)
        actions, memory = policy.act(jax.random.key(2), obs, state, policy.initial_memory(), True)
        again, _ = policy.act(jax.random.key(3), obs, state, memory, False)
        np.testing.assert_array_equal(actions, again)
        out = networks.actor_output(actor, obs)
        greedy = out if algorithm == "maddpg" else jnp.tanh(out[0])
        np.testing.assert_allclose(actions, 0.5 * (greedy + 1.0), rtol=1e-6)  # box [0, 1]
        assert env.action_space.contains(np.asarray(actions))
        sampling = ActorPolicy(actor, networks, sample=True, noise_std=0.3)
        drawn, _ = sampling.act(jax.random.key(2), obs, state, (), True)
        drawn_again, _ = sampling.act(jax.random.key(3), obs, state, (), True)
        assert not np.allclose(drawn, drawn_again)
        assert env.action_space.contains(np.asarray(drawn))
