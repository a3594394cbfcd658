"""Data-parallel training over 2 (virtual CPU) devices equals single-device training."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent(
    """
    import sys
    import jax, numpy as np
    from marlax.algorithms.ppo.trainer import Trainer
    from tests.algorithms.ppo.helpers import tiny_config

    assert jax.local_device_count() == 2, jax.devices()
    for model in sys.argv[1:]:
        run = {"num_seeds": 2, "log_every": 2, "checkpoint_every": 2}
        config = tiny_config(model=model, run=run, env_params={"max_steps": 5})
        results = []
        for devices in (jax.local_devices()[:1], jax.local_devices()):
            trainer = Trainer(config, devices=devices)
            state = trainer.init(jax.random.key(3))
            state, metrics = trainer.update(state)
            jax.block_until_ready(state)
            if len(devices) == 2:
                obs = state.runner.tasks[0].obs
                assert len(obs.sharding.device_set) == 2, obs.sharding
            results.append((jax.device_get(state.params), jax.device_get(metrics)))
        (single, single_metrics), (sharded, sharded_metrics) = results
        for a, b in zip(jax.tree.leaves(single), jax.tree.leaves(sharded)):
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
        np.testing.assert_allclose(
            single_metrics["loss/total"], sharded_metrics["loss/total"], rtol=1e-4
        )
    print("EQUAL")
    """
)


@pytest.mark.parametrize(
    "model",
    # The GRU path (carries reshaped per shard) covers more but costs ~60 s on 2 busy cores;
    # the fast tier checks the MLP (~35 s), the slow tier both.
    [pytest.param("gru", marks=pytest.mark.slow), "mlp"],
)
def test_two_device_training_equals_one_device(model):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        "--xla_force_host_platform_device_count=2 "
        "--xla_cpu_collective_call_terminate_timeout_seconds=10"
    )
    env["JAX_PLATFORMS"] = "cpu"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, model],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "EQUAL" in result.stdout
