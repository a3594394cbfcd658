"""Host-side timing and memory harness: `marlax bench` and the scripts in benchmarks/.

`profiling` times any jitted function (median after compile, XLA temp memory, interleaved
comparisons); `scaling` measures the coordination pipeline against the team size N;
`plot` draws that measurement. Nothing here is traced: library code never imports it.
"""

from marlax.bench.plot import plot_scaling
from marlax.bench.profiling import (
    Measurement,
    measure,
    measure_interleaved,
    peak_rss_bytes,
    scaling_exponent,
)
from marlax.bench.scaling import ScalingRow, exponents, measure_pipeline, pipeline_inputs

__all__ = [
    "Measurement",
    "ScalingRow",
    "exponents",
    "measure",
    "measure_interleaved",
    "measure_pipeline",
    "peak_rss_bytes",
    "pipeline_inputs",
    "plot_scaling",
    "scaling_exponent",
]
