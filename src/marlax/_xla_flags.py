"""The one XLA flag marlax may set before JAX starts, and the rule for when it does.

XLA:CPU's concurrency-optimised scheduler deadlocked a vmapped two-seed GRU PPO update
on a 2-core host (`tests/test_xla_flags.py` runs that exact program). `import marlax`
therefore adds `--xla_cpu_enable_concurrency_optimized_scheduler=false` to `XLA_FLAGS`,
but only when all of these hold:

- the user has not opted out with `MARLAX_XLA_CPU_SCHEDULER=keep`;
- the user has not set the flag either way in `XLA_FLAGS`;
- the CPU is the backend JAX will use: `JAX_PLATFORMS` is unset and no accelerator
  plugin is installed, or `JAX_PLATFORMS` names `cpu` first;
- JAX has not started a backend yet (after that, XLA_FLAGS is no longer read).

What happened is kept in `marlax.XLA_FLAG_DECISION` and logged on the `marlax` logger.
This module imports nothing of marlax and never imports jax itself.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping

SCHEDULER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
OPT_OUT_VARIABLE = "MARLAX_XLA_CPU_SCHEDULER"
"""Set to `keep` to leave XLA's scheduler choice alone."""
_ACCELERATOR_PLUGINS = ("jax_cuda12_plugin", "jax_cuda13_plugin", "jax_rocm60_plugin", "libtpu")


def with_safe_cpu_scheduler(xla_flags: str) -> str:
    """`xla_flags` plus `--xla_cpu_enable_concurrency_optimized_scheduler=false`, unless the
    user already set that flag either way."""
    if SCHEDULER_FLAG in xla_flags:
        return xla_flags
    return f"{xla_flags} {SCHEDULER_FLAG}=false".strip()


def cpu_backend_expected(environ: Mapping[str, str]) -> bool:
    """Whether JAX will run on the CPU: `JAX_PLATFORMS` names cpu first, or it is unset and
    no GPU/TPU plugin is installed."""
    platforms = environ.get("JAX_PLATFORMS", "").strip()
    if platforms:
        return platforms.split(",")[0].strip().lower() == "cpu"
    return not any(importlib.util.find_spec(name) for name in _ACCELERATOR_PLUGINS)


def scheduler_decision(environ: Mapping[str, str], backend_started: bool) -> str:
    """Why the flag is or is not added: 'added', or a reason it was left alone."""
    if environ.get(OPT_OUT_VARIABLE, "").strip().lower() == "keep":
        return f"left alone: {OPT_OUT_VARIABLE}=keep"
    if SCHEDULER_FLAG in environ.get("XLA_FLAGS", ""):
        return "left alone: XLA_FLAGS already sets it"
    if not cpu_backend_expected(environ):
        return "left alone: the CPU is not JAX's backend here"
    if backend_started:
        return "left alone: JAX had already started its backend (import marlax first)"
    return "added"


def jax_backend_started() -> bool:
    """True once JAX has created a backend (XLA_FLAGS changes no longer take effect)."""
    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge  # only read when the user imported jax before marlax

    return bool(xla_bridge.backends_are_initialized())


def apply_safe_cpu_scheduler(environ: dict[str, str] | os._Environ) -> str:
    """Add the flag to `environ["XLA_FLAGS"]` when `scheduler_decision` says so; return the
    decision."""
    decision = scheduler_decision(environ, jax_backend_started())
    if decision == "added":
        environ["XLA_FLAGS"] = with_safe_cpu_scheduler(environ.get("XLA_FLAGS", ""))
    return decision
