"""XLA flags marlax sets before JAX starts (imports nothing)."""

from __future__ import annotations

SCHEDULER_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"


def with_safe_cpu_scheduler(xla_flags: str) -> str:
    """`xla_flags` plus `--xla_cpu_enable_concurrency_optimized_scheduler=false`, unless the
    user already set that flag either way."""
    if SCHEDULER_FLAG in xla_flags:
        return xla_flags
    return f"{xla_flags} {SCHEDULER_FLAG}=false".strip()
