"""marlax turns off XLA:CPU's concurrency-optimised scheduler, which deadlocked vmapped seeds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from marlax._xla_flags import with_safe_cpu_scheduler


def test_flag_is_added_once_and_user_choice_wins():
    assert with_safe_cpu_scheduler("") == "--xla_cpu_enable_concurrency_optimized_scheduler=false"
    assert with_safe_cpu_scheduler("--a=1").startswith("--a=1 ")
    mine = "--xla_cpu_enable_concurrency_optimized_scheduler=true"
    assert with_safe_cpu_scheduler(mine) == mine
    assert "concurrency_optimized_scheduler=false" in os.environ["XLA_FLAGS"]


def test_two_seed_gru_update_does_not_deadlock():
    """This exact program hung forever before the flag (GRU 64, 2 seeds, nback)."""
    script = textwrap.dedent(
        """
        import jax, numpy as np
        from marlax.config import load_from_dict
        from marlax.algorithms.ppo.trainer import Trainer
        config = load_from_dict({
            "env": {"name": "nback", "num_envs": 64,
                    "params": {"max_n": 4, "max_value": 2, "max_steps": 32}},
            "model": {"name": "gru", "core": {"hidden_size": 64}},
            "ppo": {"total_env_steps": 64 * 32 * 2, "rollout_length": 32},
            "run": {"num_seeds": 2, "log_every": 1, "checkpoint_every": 1},
        })
        trainer = Trainer(config)
        state, metrics = trainer.update(trainer.init(jax.random.key(0)))
        print("DONE", np.isfinite(np.asarray(metrics["loss/total"])).all())
        """
    )
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "DONE True" in result.stdout
