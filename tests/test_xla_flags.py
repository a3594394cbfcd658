"""marlax turns off XLA:CPU's concurrency-optimised scheduler, which deadlocked vmapped seeds."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import marlax
from marlax._xla_flags import (
    OPT_OUT_VARIABLE,
    cpu_backend_expected,
    scheduler_decision,
    with_safe_cpu_scheduler,
)


def test_flag_is_added_once_and_user_choice_wins():
    assert with_safe_cpu_scheduler("") == "--xla_cpu_enable_concurrency_optimized_scheduler=false"
    assert with_safe_cpu_scheduler("--a=1").startswith("--a=1 ")
    mine = "--xla_cpu_enable_concurrency_optimized_scheduler=true"
    assert with_safe_cpu_scheduler(mine) == mine
    assert "concurrency_optimized_scheduler=false" in os.environ["XLA_FLAGS"]
    assert marlax.XLA_FLAG_DECISION == "added"


@pytest.mark.parametrize(
    ("environ", "started", "expected"),
    [
        ({}, False, "added"),
        ({"JAX_PLATFORMS": "cpu"}, False, "added"),
        ({"JAX_PLATFORMS": "cuda,cpu"}, False, "left alone: the CPU is not JAX's backend here"),
        ({OPT_OUT_VARIABLE: "keep"}, False, f"left alone: {OPT_OUT_VARIABLE}=keep"),
        (
            {"XLA_FLAGS": "--xla_cpu_enable_concurrency_optimized_scheduler=true"},
            False,
            "left alone: XLA_FLAGS already sets it",
        ),
        ({}, True, "left alone: JAX had already started its backend (import marlax first)"),
    ],
)
def test_decision_follows_the_documented_rule(environ, started, expected):
    assert scheduler_decision(environ, started) == expected


def test_cpu_is_expected_without_accelerator_plugins():
    # this machine and CI have no GPU plugin installed
    assert cpu_backend_expected({})
    assert not cpu_backend_expected({"JAX_PLATFORMS": "tpu"})


def _xla_flags_after_import(extra_env: dict[str, str], preamble: str = "") -> str:
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    env.update(extra_env)
    report = "print(marlax.XLA_FLAG_DECISION); print(os.environ.get('XLA_FLAGS', ''))"
    script = f"{preamble}import os, marlax; {report}"
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_import_adds_the_flag_and_the_opt_out_keeps_xla_flags_untouched():
    assert "scheduler=false" in _xla_flags_after_import({})
    kept = _xla_flags_after_import({OPT_OUT_VARIABLE: "keep", "XLA_FLAGS": "--xla_dump_to=/x"})
    assert kept.splitlines() == [f"left alone: {OPT_OUT_VARIABLE}=keep", "--xla_dump_to=/x"]


def test_import_after_jax_started_says_the_flag_cannot_apply():
    out = _xla_flags_after_import({}, "import jax; jax.numpy.zeros(1); ")
    assert out.splitlines()[0].startswith("left alone: JAX had already started")
    assert "scheduler" not in out.splitlines()[1]


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
