"""The timing harness: compile once, block on outputs, fit exponents, measure the pipeline."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from marlax.bench import (
    ScalingRow,
    exponents,
    measure,
    measure_interleaved,
    measure_pipeline,
    plot_scaling,
    scaling_exponent,
)
from marlax.coordination import TensorConsensusPipeline


def test_scaling_exponent_of_known_powers():
    sizes = [10, 100, 1000]
    assert scaling_exponent(sizes, [3 * n for n in sizes]) == pytest.approx(1.0)
    assert scaling_exponent(sizes, [n**2 for n in sizes]) == pytest.approx(2.0)
    assert scaling_exponent(sizes, [7.0, 7.0, 7.0]) == pytest.approx(0.0, abs=1e-12)


def test_measure_traces_once_and_reports_scratch_memory():
    traces = []

    def double_sum(values):
        traces.append(values.shape)  # runs only while tracing
        return jnp.sum(values * 2.0)

    result = measure(double_sum, jnp.ones((64, 64)), repeats=4)
    assert traces == [(64, 64)]
    assert result.compile_s > 0.0 and result.median_s > 0.0
    assert result.temp_bytes >= 0


def test_interleaved_keeps_names_and_order():
    functions = {"sum": jnp.sum, "max": jnp.max, "mean": jnp.mean}
    results = measure_interleaved(functions, jnp.arange(8.0), repeats=2)
    assert list(results) == ["sum", "max", "mean"]
    assert all(result.median_s > 0.0 for result in results.values())


def test_exponents_of_synthetic_rows_are_linear():
    rows = [ScalingRow(n, 1e-3 * n, 2e-3 * n, 1.0, 1000 * n, 3000 * n, 10**9) for n in (10, 100)]
    fitted = exponents(rows)
    assert set(fitted) == {"forward_s", "gradient_s", "forward_temp_bytes", "gradient_temp_bytes"}
    assert all(value == pytest.approx(1.0) for value in fitted.values())


@pytest.mark.slow  # CI time: a compile-heavy invariant, run in the full tier
def test_pipeline_row_and_plot(key, tmp_path):
    pipeline = TensorConsensusPipeline(complexity_dim=2, embedding_dim=4)
    row = measure_pipeline(key, 6, batch=1, dim=4, num_tasks=2, repeats=1, pipeline=pipeline)
    assert row.num_agents == 6
    assert row.forward_s > 0.0 and row.gradient_s > 0.0 and row.compile_s > 0.0
    assert row.peak_rss_bytes > 0
    plot_scaling([row, row._replace(num_agents=12)], tmp_path / "scaling.png")
    assert (tmp_path / "scaling.png").stat().st_size > 0
