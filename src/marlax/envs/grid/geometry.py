"""Positions, moves and egocentric views on `[W, H]` grids (pure JAX, jit/vmap-safe)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.envs.grid.tiles import DIRECTIONS


def sample_cells(key: jax.Array, allowed: jax.Array, count: int, replace: bool) -> jax.Array:
    """Draw `count` cells uniformly among the `allowed` ones.

    Args:
        key: PRNG key.
        allowed: bool[W, H]; must hold at least one True (at least `count` without replacement).
        count: number of cells.
        replace: whether a cell may be drawn twice.

    Returns:
        i32[count, 2] positions (x, y).
    """
    width, height = allowed.shape
    weights = allowed.reshape(-1).astype(jnp.float32)
    if replace:
        # categorical on log-weights: cheaper than choice(p=...), which sorts
        logits = jnp.where(weights > 0, 0.0, -jnp.inf)
        flat = jax.random.categorical(key, logits, shape=(count,))
    else:
        # Gumbel top-k over allowed cells = uniform sample without replacement
        gumbel = jax.random.gumbel(key, (width * height,))
        scores = jnp.where(weights > 0, gumbel, -jnp.inf)
        _, flat = jax.lax.top_k(scores, count)
    return jnp.stack([flat // height, flat % height], axis=-1).astype(jnp.int32)


def direction_delta(direction: jax.Array) -> jax.Array:
    """(dx, dy) for direction ids 0..3 (up, right, down, left): i32[..., 2]."""
    return jnp.asarray(DIRECTIONS)[direction]


def move_targets(positions: jax.Array, actions: jax.Array) -> jax.Array:
    """Cells the agents try to enter; actions >= 4 (stay, attack, dig) keep the cell.

    Args:
        positions: i32[N, 2]; actions: i32[N].

    Returns:
        i32[N, 2].
    """
    is_move = actions < 4
    delta = direction_delta(jnp.where(is_move, actions, 0))
    return positions + jnp.where(is_move[:, None], delta, 0)


def in_bounds(positions: jax.Array, width: int, height: int) -> jax.Array:
    """bool[...]: whether (x, y) lies on the map."""
    x, y = positions[..., 0], positions[..., 1]
    return (x >= 0) & (x < width) & (y >= 0) & (y < height)


def clip_to_map(positions: jax.Array, width: int, height: int) -> jax.Array:
    """Positions clipped into the map, i32[..., 2]."""
    return jnp.stack(
        [jnp.clip(positions[..., 0], 0, width - 1), jnp.clip(positions[..., 1], 0, height - 1)],
        axis=-1,
    )


def scatter_units(codes: jax.Array, positions: jax.Array, width: int, height: int) -> jax.Array:
    """A `[W, H]` layer holding `codes[i]` at `positions[i]` and 0 elsewhere.

    Where several agents share a cell, the largest code is kept (deterministic).

    Args:
        codes: i32[N] (0 = draw nothing); positions: i32[N, 2].

    Returns:
        i32[W, H].
    """
    layer = jnp.zeros((width, height), jnp.int32)
    return layer.at[positions[:, 0], positions[:, 1]].max(codes.astype(jnp.int32))


def egocentric_views(
    layer: jax.Array, positions: jax.Array, view_size: int, pad_value: int
) -> jax.Array:
    """Square crops of `layer` centred on each position, padded beyond the map edge.

    `view[i, V//2 + dx, V//2 + dy] == layer[x_i + dx, y_i + dy]`.

    Args:
        layer: i32[W, H]; positions: i32[N, 2]; view_size: odd V; pad_value: id off the map.

    Returns:
        i32[N, V, V].
    """
    radius = view_size // 2
    padded = jnp.pad(layer, radius, constant_values=pad_value)

    def _crop(position: jax.Array) -> jax.Array:
        return jax.lax.dynamic_slice(padded, (position[0], position[1]), (view_size, view_size))

    return jax.vmap(_crop)(positions)
