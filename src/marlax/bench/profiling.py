"""Timing and memory measurement for `marlax bench` and the scripts in benchmarks/.

Host-side helpers: each function is jitted and compiled once, then timed as the median of
repeated calls whose outputs are blocked on, so asynchronous dispatch is not measured.
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


def _compile(function: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, float, int]:
    """(compiled program, compile seconds, XLA temp bytes), after one warm-up call."""
    start = time.perf_counter()
    compiled = jax.jit(function).lower(*args).compile()
    compile_s = time.perf_counter() - start
    analysis = compiled.memory_analysis()
    temp_bytes = int(getattr(analysis, "temp_size_in_bytes", 0)) if analysis is not None else 0
    jax.block_until_ready(compiled(*args))
    return compiled, compile_s, temp_bytes


def _timed_call(program: Any, args: tuple[Any, ...]) -> float:
    """Seconds for one call, blocked on its outputs."""
    start = time.perf_counter()
    jax.block_until_ready(program(*args))
    return time.perf_counter() - start


def measure(function: Callable[..., Any], *args: Any, repeats: int = 5) -> Measurement:
    """Compile `function` for `args`, then time `repeats` calls (after one warm-up call).

    Args:
      function: a pure function of arrays (it is jitted here).
      args: its inputs.
      repeats: timed calls; the median is reported.

    Returns:
      Measurement(compile_s, median_s, temp_bytes).
    """
    compiled, compile_s, temp_bytes = _compile(function, args)
    times = [_timed_call(compiled, args) for _ in range(repeats)]
    return Measurement(compile_s, statistics.median(times), temp_bytes)


def measure_interleaved(
    functions: dict[str, Callable[..., Any]], *args: Any, repeats: int = 3
) -> dict[str, Measurement]:
    """Measure several functions on the same inputs, alternating their timed calls.

    On a shared host the load drifts; alternating A, B, A, B ... gives each contender the
    same conditions, so the comparison is fair even when absolute times are noisy.

    Args:
      functions: name -> pure function of `args` (each jitted here).
      args: the shared inputs.
      repeats: timed calls per function; the median is reported.

    Returns:
      name -> Measurement(compile_s, median_s, temp_bytes), in the order of `functions`.
    """
    compiled = {name: _compile(function, args) for name, function in functions.items()}
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, (program, _, _) in compiled.items():
            times[name].append(_timed_call(program, args))
    return {
        name: Measurement(compile_s, statistics.median(times[name]), temp_bytes)
        for name, (_, compile_s, temp_bytes) in compiled.items()
    }


def peak_rss_bytes() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def scaling_exponent(sizes: list[int] | np.ndarray, values: list[float] | np.ndarray) -> float:
    """Least-squares slope of log(value) against log(size): 1.0 means linear growth.

    Args:
      sizes: f64[K] problem sizes (> 0); values: f64[K] measurements (floored at 1e-12).

    Returns:
      The fitted exponent p of value ~ size^p.
    """
    log_sizes = np.log(np.asarray(sizes, dtype=np.float64))
    log_values = np.log(np.maximum(np.asarray(values, dtype=np.float64), 1e-12))
    slope, _ = np.polyfit(log_sizes, log_values, 1)
    return float(slope)
