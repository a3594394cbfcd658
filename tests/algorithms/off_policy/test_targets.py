"""TD targets and Polyak averaging by hand; MADDPG's and SAC's targets on a tiny batch."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.off_policy import maddpg, sac
from marlax.algorithms.off_policy.targets import polyak, td_target
from tests.algorithms.off_policy.helpers import random_batch, tiny_setup


def test_td_target_by_hand_masks_the_bootstrap_at_termination():
    reward = jnp.array([[1.0, -1.0], [0.5, 2.0]])
    next_value = jnp.array([[10.0, 20.0], [-4.0, 8.0]])
    terminated = jnp.array([True, False])
    target = td_target(reward, terminated, next_value, 0.5)
    np.testing.assert_allclose(target, [[1.0, -1.0], [0.5 - 2.0, 2.0 + 4.0]])


def test_polyak_by_hand():
    online = {"w": jnp.array([1.0, 2.0]), "b": jnp.array(-4.0)}
    target = {"w": jnp.array([5.0, 6.0]), "b": jnp.array(0.0)}
    moved = polyak(online, target, 0.25)
    np.testing.assert_allclose(moved["w"], [4.0, 5.0])
    np.testing.assert_allclose(moved["b"], -1.0)
    np.testing.assert_allclose(polyak(online, target, 1.0)["w"], online["w"])


def test_maddpg_targets_by_hand_on_a_tiny_batch():
    """y = r where terminated; elsewhere r + gamma Q'(o', mu'(o')) on the stored next_obs
    (the true final observation at a time limit, so truncation bootstraps)."""
    setup = tiny_setup("maddpg")
    networks = setup.networks
    params = networks.init(jax.random.key(1))
    batch = random_batch(jax.random.key(2), setup, size=3)
    target = maddpg.td_targets(params, batch, jax.random.key(0), networks, 0.9)
    for k in range(3):
        next_mu = networks.greedy_actions(params["actor"], batch.next_obs[k])  # f32[N, A]
        joint = jnp.broadcast_to(next_mu, (networks.num_agents, *next_mu.shape))
        next_q = networks.centralised_q(params["critic"], batch.next_obs[k], joint)
        expected = batch.reward[k] + (0.0 if k == 0 else 0.9) * next_q
        np.testing.assert_allclose(target[k], expected, rtol=1e-5, atol=1e-6)


def test_maddpg_critic_of_agent_i_sees_every_observation_and_action():
    """Changing another agent's observation or action changes agent 0's Q; its id matters."""
    setup = tiny_setup("maddpg")
    networks = setup.networks
    critic = networks.init(jax.random.key(3))["critic"]
    batch = random_batch(jax.random.key(4), setup, size=1)
    joint = maddpg.same_joint_action(batch.actions)
    q = networks.centralised_q(critic, batch.obs, joint)[0]
    other_obs = networks.centralised_q(critic, batch.obs.at[0, 2].add(1.0), joint)[0]
    other_action = networks.centralised_q(critic, batch.obs, joint.at[0, :, 2].add(0.5))[0]
    assert abs(float(q[0] - other_obs[0])) > 1e-6
    assert abs(float(q[0] - other_action[0])) > 1e-6
    assert abs(float(q[0] - q[1])) > 1e-6  # same inputs, different agent ids


def test_sac_target_uses_the_smaller_twin():
    """Raising one target twin by 100 leaves the other in charge; the unshifted target is the
    elementwise min of the two; raising both adds gamma * 100 where not terminated."""
    setup = tiny_setup("sac")
    networks = setup.networks
    params = networks.init(jax.random.key(5))
    batch = random_batch(jax.random.key(6), setup, size=4)
    alpha, gamma, key = jnp.float32(0.2), 0.9, jax.random.key(7)

    def _targets(shift_first: float, shift_second: float) -> jax.Array:
        critic = jax.tree.map(jnp.copy, params["critic"])
        inner = critic["params"]
        for name, shift in (("MLP_0", shift_first), ("MLP_1", shift_second)):
            last = sorted(inner[name])[-1]  # the output layer
            inner[name][last]["bias"] = inner[name][last]["bias"] + shift
        return sac.soft_td_targets(critic, params["actor"], alpha, batch, key, networks, gamma)

    base = _targets(0.0, 0.0)
    only_second = _targets(100.0, 0.0)  # twin 1 out of the way: min is twin 2
    only_first = _targets(0.0, 100.0)
    np.testing.assert_allclose(base, jnp.minimum(only_first, only_second), rtol=1e-5)
    assert not np.allclose(only_first, only_second)
    keep = np.where(np.asarray(batch.terminated), 0.0, gamma * 100.0)[:, None]
    np.testing.assert_allclose(_targets(100.0, 100.0), base + keep, rtol=1e-5, atol=1e-3)
