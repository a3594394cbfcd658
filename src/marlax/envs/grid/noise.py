"""Fractal value noise for procedurally generated maps (any map size, pure JAX)."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp


def _smoothstep(t: jax.Array) -> jax.Array:
    """Quintic fade 6t^5 - 15t^4 + 10t^3 (Perlin's interpolant)."""
    return t * t * t * (t * (t * 6.0 - 15.0) + 10.0)


def value_noise(key: jax.Array, width: int, height: int, cells: int) -> jax.Array:
    """One octave: random lattice values, smoothly interpolated.

    Args:
        key: PRNG key.
        width, height: map size W, H.
        cells: lattice cells across the map (the octave's frequency).

    Returns:
        f32[W, H] in [0, 1].
    """
    lattice = jax.random.uniform(key, (cells + 1, cells + 1))
    u = (jnp.arange(width) + 0.5) * cells / width
    v = (jnp.arange(height) + 0.5) * cells / height
    i0 = jnp.clip(jnp.floor(u).astype(jnp.int32), 0, cells - 1)
    j0 = jnp.clip(jnp.floor(v).astype(jnp.int32), 0, cells - 1)
    fu = _smoothstep(u - i0)[:, None]
    fv = _smoothstep(v - j0)[None, :]
    c00 = lattice[i0][:, j0]
    c10 = lattice[i0 + 1][:, j0]
    c01 = lattice[i0][:, j0 + 1]
    c11 = lattice[i0 + 1][:, j0 + 1]
    bottom = c00 * (1 - fu) + c10 * fu
    top = c01 * (1 - fu) + c11 * fu
    return bottom * (1 - fv) + top * fv


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
    from map to map around roughly `wall_density / 2`.

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
