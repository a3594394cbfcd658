"""Memory-core speed: one jitted forward + backward of `sequence` per core and length.

Each cell builds the core's model with its default settings (`make_model(name)`: vector
encoder, core, policy/value head), takes the gradient of the summed value and logits of a
whole sequence (batch 16, resets drawn with probability 1/64 per step) with respect to all
parameters, and reports the median wall time of `--repeats` calls after one compile call.

    python benchmarks/memory_core_speed.py --lengths 128 512 1024 --cores gru ssm s5
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp

from marlax.models import make_model

OBS_DIM, NUM_ACTIONS = 16, 4


def gradient_step(name: str, length: int, batch: int):
    """(jitted grad of the sequence loss, its arguments) for core `name` at T = `length`."""
    model = make_model(name, num_actions=NUM_ACTIONS)
    obs_key, reset_key, init_key = jax.random.split(jax.random.key(0), 3)
    obs_seq = jax.random.normal(obs_key, (length, batch, OBS_DIM))
    reset_seq = jax.random.bernoulli(reset_key, 1 / 64, (length, batch)).at[0].set(True)
    carry = model.initialize_carry((batch,))
    params = model.init(init_key, carry, obs_seq[0], reset_seq[0])

    def loss(params):
        _, (logits, value) = model.apply(params, carry, obs_seq, reset_seq, method="sequence")
        return jnp.sum(value) + jnp.sum(logits)

    return jax.jit(jax.grad(loss)), params


def median_seconds(step, params, repeats: int) -> float:
    """Median seconds of `repeats` calls, after a first call that compiles."""
    jax.block_until_ready(step(params))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(step(params))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", nargs="+", default=["gru", "ssm", "s5"])
    parser.add_argument("--lengths", nargs="+", type=int, default=[128, 512, 1024])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"device: {jax.devices()[0].device_kind}, batch {args.batch}, median of {args.repeats}")
    print("| core | " + " | ".join(f"T = {length} (ms)" for length in args.lengths) + " |")
    print("|---|" + "---:|" * len(args.lengths))
    for name in args.cores:
        cells = []
        for length in args.lengths:
            step, params = gradient_step(name, length, args.batch)
            seconds = median_seconds(step, params, args.repeats)
            cells.append(f"{1e3 * seconds:.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
