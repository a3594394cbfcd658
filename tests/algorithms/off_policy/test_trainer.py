"""The trainer: seeds differ, a fixed key repeats exactly, learning starts on time; the noise
schedule by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.off_policy.rollout import noise_std_at
from marlax.algorithms.off_policy.trainer import OffPolicyTrainer
from tests.algorithms.off_policy.helpers import tiny_off_policy, tiny_setup


def test_noise_std_falls_linearly_then_stays():
    config = tiny_off_policy(noise_std_start=0.3, noise_std_finish=0.05, noise_decay=0.5)
    at = [float(noise_std_at(config, jnp.float32(steps), 1000)) for steps in (0, 250, 500, 900)]
    np.testing.assert_allclose(at, [0.3, 0.175, 0.05, 0.05], rtol=1e-6)
    constant = tiny_off_policy(noise_std_finish=0.1, noise_decay=0.0)
    np.testing.assert_allclose(float(noise_std_at(constant, jnp.float32(0), 1000)), 0.1)


def test_a_fixed_key_repeats_exactly_and_seeds_differ():
    """Two runs from one key end bitwise equal (replay, envs and all); the two seeds of a run
    start from different networks; gradient steps begin once learning_starts steps are in
    (update 3 of 3 here: 16 steps per update, learning_starts 32)."""
    trainer = OffPolicyTrainer(tiny_setup("sac"), num_seeds=2)
    first, metrics = trainer.update(trainer.init(jax.random.key(0)), 3)
    second, _ = trainer.update(trainer.init(jax.random.key(0)), 3)
    for a, b in zip(jax.tree.leaves(first), jax.tree.leaves(second), strict=True):
        if jnp.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(a, b)
    kernel = jax.tree.leaves(first.params["actor"])[-1]
    assert not np.allclose(kernel[0], kernel[1])
    critic_loss = np.asarray(metrics["loss/critic"])  # f32[S, 3]
    assert np.isnan(critic_loss[:, :2]).all() and np.isfinite(critic_loss[:, 2]).all()
    assert int(first.update[0]) == 3
