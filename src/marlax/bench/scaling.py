"""The scaling benchmark behind `marlax bench`: pipeline latency and memory against N.

Host-side (it times jitted programs); shared by `marlax bench` and benchmarks/coordination.py.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from marlax.bench.profiling import measure, peak_rss_bytes, scaling_exponent
from marlax.coordination.pipeline import TensorConsensusPipeline


class ScalingRow(NamedTuple):
    """Measurements of the pipeline at one team size N."""

    num_agents: int
    """Team size N."""
    forward_s: float
    """Median seconds of one pipeline forward pass (with assignment) on the whole batch."""
    gradient_s: float
    """Median seconds of d/dparams of mean(output^2)."""
    compile_s: float
    """Seconds to compile the forward and the gradient programs together."""
    forward_temp_bytes: int
    """XLA temp bytes of the forward program."""
    gradient_temp_bytes: int
    """XLA temp bytes of the gradient program."""
    peak_rss_bytes: int
    """Peak resident memory of the process after this size, in bytes."""


def pipeline_inputs(
    key: jax.Array, batch: int, num_agents: int, num_tasks: int, dim: int
) -> tuple[jax.Array, jax.Array]:
    """Gaussian agent states f32[B, N, D] and task states f32[B, M, D]."""
    agent_key, task_key = jax.random.split(key)
    agent_states = jax.random.normal(agent_key, (batch, num_agents, dim))
    task_states = jax.random.normal(task_key, (batch, num_tasks, dim))
    return agent_states, task_states


def measure_pipeline(
    key: jax.Array,
    num_agents: int,
    *,
    batch: int = 32,
    dim: int = 64,
    num_tasks: int = 100,
    repeats: int = 5,
    pipeline: TensorConsensusPipeline | None = None,
) -> ScalingRow:
    """Forward and parameter-gradient latency, compile time and memory at one N.

    Args:
      key: PRNG key for the parameters and the Gaussian inputs.
      num_agents: team size N.
      batch: B; dim: D, the width of agent and task states; num_tasks: M.
      repeats: timed calls per program (the median is kept).
      pipeline: the module to measure (default: complexity_dim=8, embedding_dim=64).

    Returns:
      ScalingRow for this N.
    """
    pipeline = pipeline or TensorConsensusPipeline(complexity_dim=8, embedding_dim=64)
    init_key, data_key = jax.random.split(key)
    agent_states, task_states = pipeline_inputs(data_key, batch, num_agents, num_tasks, dim)
    params = pipeline.init(init_key, agent_states, task_states)

    def forward(params, agent_states, task_states):
        return pipeline.apply(params, agent_states, task_states)[0]

    def loss(params, agent_states, task_states):
        return jnp.mean(forward(params, agent_states, task_states) ** 2)

    forward_run = measure(forward, params, agent_states, task_states, repeats=repeats)
    gradient_run = measure(jax.grad(loss), params, agent_states, task_states, repeats=repeats)
    return ScalingRow(
        num_agents=num_agents,
        forward_s=forward_run.median_s,
        gradient_s=gradient_run.median_s,
        compile_s=forward_run.compile_s + gradient_run.compile_s,
        forward_temp_bytes=forward_run.temp_bytes,
        gradient_temp_bytes=gradient_run.temp_bytes,
        peak_rss_bytes=peak_rss_bytes(),
    )


def exponents(rows: list[ScalingRow]) -> dict[str, float]:
    """Fitted log-log slopes against N (1.0 = linear) for time and memory."""
    sizes = [row.num_agents for row in rows]
    return {
        "forward_s": scaling_exponent(sizes, [row.forward_s for row in rows]),
        "gradient_s": scaling_exponent(sizes, [row.gradient_s for row in rows]),
        "forward_temp_bytes": scaling_exponent(sizes, [row.forward_temp_bytes for row in rows]),
        "gradient_temp_bytes": scaling_exponent(sizes, [row.gradient_temp_bytes for row in rows]),
    }
