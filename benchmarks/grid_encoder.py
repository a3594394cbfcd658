"""Grid encoder cost: fwd and fwd+bwd time per observation for a few conv layouts.

The grid worlds' agents see an 11 x 11 x C id grid (tile, unit, ...). The encoder runs on
every agent-step of a rollout (actor and critic) and four times more in learning, so it sets
the training speed of every grid config. This times `marlax.models.GridEncoder` under `jit`
on a minibatch of random grids (the shape the PPO minibatch has: 64 envs x 64 steps x 4
agents / 4 minibatches = 4096 observations) and prints a table (the best of `--repeats`).

    python benchmarks/grid_encoder.py --batch 4096 --markdown benchmarks/results/grid_encoder.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp
from rich.console import Console
from rich.table import Table

from marlax.models import GridEncoder
from marlax.models.encoders import _patches

VIEW, CHANNELS, VOCAB = 11, 2, 10
BASELINE = "unfolded, stride 1: 16, 16 (before)"
LAYOUTS: dict[str, dict] = {
    BASELINE: {},
    "stride 1: 16, 16": {"conv_channels": (16, 16), "conv_strides": (1, 1)},
    "stride 1, 2: 16, 32": {"conv_channels": (16, 32), "conv_strides": (1, 2)},
    "stride 2, 1: 16, 32 (default)": {"conv_channels": (16, 32), "conv_strides": (2, 1)},
    "stride 2, 1: 16, 16": {"conv_channels": (16, 16), "conv_strides": (2, 1)},
    "stride 2: 32": {"conv_channels": (32,), "conv_strides": (2,)},
    "no conv": {"conv_channels": (), "conv_strides": ()},
}


class UnfoldedGridEncoder(nn.Module):
    """The encoder before this benchmark: embed every cell (one-hot matmul), then two
    stride-1 16-channel convs as `_patches` + Dense, flatten, Dense 64."""

    @nn.compact
    def __call__(self, grids: jax.Array) -> jax.Array:
        cells = sum(
            jax.nn.one_hot(grids[..., c], VOCAB)
            @ self.param(f"embed_{c}", nn.initializers.normal(1.0), (VOCAB, 8))
            for c in range(CHANNELS)
        )
        for _ in range(2):
            cells = nn.relu(nn.Dense(16)(_patches(cells, 3)))
        return nn.relu(nn.Dense(64)(cells.reshape((*cells.shape[:-3], -1))))


def _best_seconds(fn, *args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def measure(settings: dict, batch: int, repeats: int) -> dict:
    """Seconds per observation (fwd, fwd+bwd) and the parameter count of one layout."""
    encoder = GridEncoder((VOCAB,) * CHANNELS, **settings) if settings else UnfoldedGridEncoder()
    grids = jax.random.randint(jax.random.key(0), (batch, VIEW, VIEW, CHANNELS), 0, VOCAB)
    params = encoder.init(jax.random.key(1), grids[:1])
    forward = jax.jit(encoder.apply)
    backward = jax.jit(jax.grad(lambda p, g: jnp.sum(encoder.apply(p, g) ** 2)))
    return {
        "params": sum(leaf.size for leaf in jax.tree.leaves(params)),
        "fwd_us": _best_seconds(forward, params, grids, repeats=repeats) / batch * 1e6,
        "fwd_bwd_us": _best_seconds(backward, params, grids, repeats=repeats) / batch * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4096, help="observations per call")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    args = parser.parse_args()

    rows = {name: measure(settings, args.batch, args.repeats) for name, settings in LAYOUTS.items()}
    base = rows[BASELINE]["fwd_bwd_us"]
    table = Table(title=f"GridEncoder, {VIEW}x{VIEW}x{CHANNELS} ids, batch {args.batch}")
    for column in ("layout", "params", "fwd us/obs", "fwd+bwd us/obs", "speed-up"):
        table.add_column(column, justify="left" if column == "layout" else "right")
    lines = [
        "| layout | params | fwd us/obs | fwd+bwd us/obs | fwd+bwd speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, row in rows.items():
        cells = (
            f"{row['params']:,}",
            f"{row['fwd_us']:.1f}",
            f"{row['fwd_bwd_us']:.1f}",
            f"{base / row['fwd_bwd_us']:.2f}x",
        )
        table.add_row(name, *cells)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    Console().print(table)
    if args.markdown:
        header = [
            "# Grid encoder cost per observation",
            "",
            f"    python benchmarks/grid_encoder.py --batch {args.batch} --repeats {args.repeats}",
            "",
            f"jax {jax.__version__}, {jax.devices()[0].platform}; embed_dim 8, 3x3 kernels, "
            "output 64, relu. Every `GridEncoder` row folds the embedding into its first conv "
            "(a Dense on one-hot id patches); the first row is the encoder before that change "
            "(embed every cell, then convolve).",
            "",
        ]
        args.markdown.write_text("\n".join([*header, *lines, ""]))


if __name__ == "__main__":
    main()
