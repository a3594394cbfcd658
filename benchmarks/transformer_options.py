"""Grouped-query attention and bf16 compute: time of one Transformer learning step on XLA:CPU.

One minibatch step of the learner's shape: the gradient of a loss over a whole sequence
(`model.apply(..., method="sequence")`, T steps, B sequences, episode resets inside) for the
shipped `configs/nback_transformer.json` core (d_model 128, 3 layers, 8 query heads, context
32) with `num_kv_heads` in {8 (full attention), 2, 1} and `model.dtype` in {float32,
bfloat16}. Every variant runs on the same inputs, timed interleaved (A, B, A, B, ...) so load
drift on a shared host hits each alike (`marlax.bench.profiling.measure_interleaved`); the
table gives the median and the ratio to full attention in float32.

    python benchmarks/transformer_options.py --length 64 --batch 16 --repeats 7
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import jax
import jax.numpy as jnp

from marlax.bench.profiling import measure_interleaved
from marlax.models import make_model

CORE = {"d_model": 128, "num_layers": 3, "num_heads": 8, "context_length": 32}
OBS_DIM, NUM_ACTIONS = 5, 2  # n-back: one-hot value (2), previous action (2), previous reward


def grad_step(kv_heads: int, dtype: str, obs: jax.Array, reset: jax.Array) -> Callable:
    """The gradient of a sequence loss for one variant, as a function of (obs, reset)."""
    model = make_model(
        "transformer", num_actions=NUM_ACTIONS, dtype=dtype, num_kv_heads=kv_heads, **CORE
    )
    carry = model.initialize_carry(obs.shape[1:2])
    params = model.init(jax.random.key(0), carry, obs[0], reset[0])

    def loss(p: dict, obs: jax.Array, reset: jax.Array) -> jax.Array:
        _, (logits, value) = model.apply(p, carry, obs, reset, method="sequence")
        return jnp.mean(jnp.square(value)) - jnp.mean(jax.nn.log_softmax(logits))

    return lambda obs, reset: jax.grad(loss)(params, obs, reset)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--length", type=int, default=64, help="T, steps per sequence")
    parser.add_argument("--batch", type=int, default=16, help="B, sequences per minibatch")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    key = jax.random.key(1)
    obs = jax.random.uniform(key, (args.length, args.batch, OBS_DIM))
    reset = jax.random.bernoulli(key, 1 / 64, (args.length, args.batch)).at[0].set(True)
    variants = {
        f"kv={kv} {dtype}": grad_step(kv, dtype, obs, reset)
        for kv in (8, 2, 1)
        for dtype in ("float32", "bfloat16")
    }
    results = measure_interleaved(variants, obs, reset, repeats=args.repeats)
    base = results["kv=8 float32"].median_s
    print(f"T={args.length}, B={args.batch}, core {CORE}, device {jax.devices()[0].platform}")
    print("| variant | median ms | vs kv=8 float32 | compile s |")
    print("|---|---:|---:|---:|")
    for name, result in results.items():
        print(
            f"| {name} | {result.median_s * 1e3:.1f} | {result.median_s / base:.2f} |"
            f" {result.compile_s:.1f} |"
        )


if __name__ == "__main__":
    main()
