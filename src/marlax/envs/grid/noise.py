"""Fractal value noise for procedurally generated maps (any map size, pure JAX)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np


def _interpolation_matrix(size: int, cells: int) -> np.ndarray:
    """f32[size, cells + 1]: smoothstep weights of each map coordinate on the lattice."""
    u = (np.arange(size) + 0.5) * cells / size
    i0 = np.clip(np.floor(u).astype(np.int64), 0, cells - 1)
    t = u - i0
    fade = t * t * t * (t * (t * 6.0 - 15.0) + 10.0)
    weights = np.zeros((size, cells + 1), np.float32)
    weights[np.arange(size), i0] = 1.0 - fade
    weights[np.arange(size), i0 + 1] = fade
    return weights


def value_noise(key: jax.Array, width: int, height: int, cells: int) -> jax.Array:
    """One octave: random lattice values, smoothly interpolated.

    Interpolation is separable, `Wx @ lattice @ Wy^T` with constant weight
    matrices: ~13x faster on XLA:CPU than four gathers, and resets run often.

    Args:
        key: PRNG key.
        width, height: map size W, H.
        cells: lattice cells across the map (the octave's frequency).

    Returns:
        f32[W, H] in [0, 1].
    """
    lattice = jax.random.uniform(key, (cells + 1, cells + 1))
    weights_x = jnp.asarray(_interpolation_matrix(width, cells))
    weights_y = jnp.asarray(_interpolation_matrix(height, cells))
    return weights_x @ lattice @ weights_y.T


def fractal_noise(
    key: jax.Array, width: int, height: int, octaves: Sequence[int] = (3, 6, 12)
) -> jax.Array:
    """Sum of value-noise octaves with Dirichlet-drawn amplitudes (weights sum to 1).

    Returns:
        f32[W, H] in [0, 1].
    """
    amplitude_key, *octave_keys = jax.random.split(key, len(octaves) + 1)
    amplitudes = jax.random.dirichlet(amplitude_key, jnp.ones(len(octaves)))
    layers = [
        value_noise(octave_key, width, height, cells)
        for octave_key, cells in zip(octave_keys, octaves, strict=True)
    ]
    return jnp.tensordot(amplitudes, jnp.stack(layers), axes=1)


def noise_walls(
    key: jax.Array, width: int, height: int, wall_density: float, border: bool = True
) -> jax.Array:
    """Walls where the (min-max normalised) fractal noise exceeds `1 - wall_density`.

    No sort (a quantile would cost more than a whole env step on XLA:CPU, and
    auto-reset evaluates `reset` every step); the wall share therefore varies
    from map to map around roughly `wall_density` (measured: 0.5 -> 0.50, 0.8 -> 0.92).

    Returns:
        bool[W, H], True = wall; with `border`, the outer ring is always wall.
    """
    noise = fractal_noise(key, width, height)
    low, high = noise.min(), noise.max()
    normalised = (noise - low) / jnp.maximum(high - low, 1e-6)
    walls = normalised > 1.0 - wall_density
    if border:
        walls = walls | border_mask(width, height)
    return walls


def border_mask(width: int, height: int) -> jax.Array:
    """bool[W, H]: True on the outer ring of cells."""
    x = jnp.arange(width)[:, None]
    y = jnp.arange(height)[None, :]
    return (x == 0) | (y == 0) | (x == width - 1) | (y == height - 1)
