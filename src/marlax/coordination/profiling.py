"""Timing and memory measurement for the coordination benchmarks and `marlax bench`.

Host-side helpers (no jit inside): compile once, then the median of repeated, blocked calls.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np


class Measurement(NamedTuple):
    """One jitted function measured on fixed inputs."""

    compile_s: float
    """Seconds to lower and compile."""
    median_s: float
    """Median seconds per call after compilation (outputs blocked on)."""
    temp_bytes: int
    """XLA temporary buffer bytes of the compiled program (peak scratch memory)."""


def measure(function: Callable[..., Any], *args: Any, repeats: int = 5) -> Measurement:
    """Compile `function` for `args`, then time `repeats` calls (after one warm-up call).

    Args:
      function: a pure function of arrays (it is jitted here).
      args: its inputs.
      repeats: timed calls; the median is reported.

    Returns:
      Measurement(compile_s, median_s, temp_bytes).
    """
    start = time.perf_counter()
    compiled = jax.jit(function).lower(*args).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    temp_bytes = int(getattr(analysis, "temp_size_in_bytes", 0)) if analysis is not None else 0
    jax.block_until_ready(compiled(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        times.append(time.perf_counter() - start)
    return Measurement(compile_s, statistics.median(times), temp_bytes)


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def scaling_exponent(sizes: list[int] | np.ndarray, values: list[float] | np.ndarray) -> float:
    """Least-squares slope of log(value) against log(size): 1.0 means linear growth."""
    sizes = np.log(np.asarray(sizes, dtype=np.float64))
    values = np.log(np.maximum(np.asarray(values, dtype=np.float64), 1e-12))
    slope, _ = np.polyfit(sizes, values, 1)
    return float(slope)


def measure_interleaved(
    functions: dict[str, Callable[..., Any]], *args: Any, repeats: int = 3
) -> dict[str, Measurement]:
    """Measure several functions on the same inputs, alternating their timed calls.

    On a shared host the load drifts; alternating A, B, A, B ... gives each contender the
    same conditions, so the comparison is fair even when absolute times are noisy.
    """
    compiled, compile_s, temp_bytes = {}, {}, {}
    for name, function in functions.items():
        start = time.perf_counter()
        compiled[name] = jax.jit(function).lower(*args).compile()
        compile_s[name] = time.perf_counter() - start
        analysis = compiled[name].memory_analysis()
        temp_bytes[name] = int(getattr(analysis, "temp_size_in_bytes", 0)) if analysis else 0
        jax.block_until_ready(compiled[name](*args))
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, program in compiled.items():
            start = time.perf_counter()
            jax.block_until_ready(program(*args))
            times[name].append(time.perf_counter() - start)
    return {
        name: Measurement(compile_s[name], statistics.median(times[name]), temp_bytes[name])
        for name in functions
    }
