"""Exact auto-reset of a batch that skips most of the resets: the reset pool of `VectorEnv`.

Every finished env gets `env.reset(its own reset key)`, as under `vmap(AutoReset(env))`.
The pool is only a fast path, chosen per step by a `lax.switch` on how many envs finish:
none, no reset is computed; at most `pool_size`, only `pool_size` resets are computed (on
the finished envs' keys) and scattered into place; more, every env is reset. All paths
give the same values, so the pool size changes speed only.

A `lax.switch` under `vmap` runs every branch. So that the fast path survives an outer
`vmap` (PPO vmaps seeds over the whole trainer), the function has a batching rule: a
vmapped call with S batches of B envs becomes one call with S * B envs and a pool of
S * pool_size, i.e. the switch is taken once for all seeds together.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_batching import custom_vmap

from marlax.envs.base import Env
from marlax.envs.wrappers.autoreset import select_tree

ResetFinished = Callable[[jax.Array, jax.Array, jax.Array, Any], tuple[jax.Array, Any]]


def reset_finished(env: Env, pool_size: int) -> ResetFinished:
    """`(reset_keys, done, obs, state) -> (obs, state)` with finished envs reset exactly.

    Args:
        env: the unbatched environment (static).
        pool_size: R >= 1, the resets computed on a step where at most R envs finish.

    Returns:
        A function of reset_keys key[B], done bool[B], obs [B, N, ...] and the env State
        with leading axis B; it returns obs and state where every env with `done` holds
        `env.reset(reset_keys[i])` and every other env is unchanged.
    """

    @custom_vmap
    def _reset(reset_keys: jax.Array, done: jax.Array, obs: jax.Array, state: Any):
        num_done = jnp.sum(done)
        if pool_size >= done.shape[0]:  # static: a pool as large as the batch is a full reset
            return jax.lax.cond(
                num_done > 0,
                lambda: _reset_all(env, reset_keys, done, obs, state),
                lambda: (obs, state),
            )
        # 0: nobody finished (most steps of envs that truncate together); 1: the pool
        # holds them all; 2: more finished than the pool holds
        path = (num_done > 0).astype(jnp.int32) + (num_done > pool_size).astype(jnp.int32)
        return jax.lax.switch(
            path,
            [
                lambda: (obs, state),
                lambda: _reset_pooled(env, pool_size, reset_keys, done, obs, state),
                lambda: _reset_all(env, reset_keys, done, obs, state),
            ],
        )

    @_reset.def_vmap
    def _flatten_outer_batch(axis_size: int, in_batched: list[Any], *args: Any):
        """S batches of B envs -> one batch of S * B envs with an S-times larger pool."""
        args = jax.tree.map(
            lambda leaf, batched: (
                leaf if batched else jnp.broadcast_to(leaf, (axis_size, *leaf.shape))
            ),
            list(args),
            in_batched,
        )
        num_envs = args[1].shape[1]  # done: bool[S, B]
        flat_args = jax.tree.map(
            lambda leaf: leaf.reshape(axis_size * num_envs, *leaf.shape[2:]), args
        )
        flat_out = reset_finished(env, axis_size * pool_size)(*flat_args)
        out = jax.tree.map(
            lambda leaf: leaf.reshape(axis_size, num_envs, *leaf.shape[1:]), flat_out
        )
        return out, jax.tree.map(lambda _: True, out)

    return _reset


def _reset_all(
    env: Env, reset_keys: jax.Array, done: jax.Array, obs: jax.Array, state: Any
) -> tuple[jax.Array, Any]:
    """Reset every env, keep the fresh episode where `done` (B resets)."""
    reset_obs, reset_state = jax.vmap(env.reset)(reset_keys)
    return select_tree(done, reset_obs, obs), select_tree(done, reset_state, state)


def _reset_pooled(
    env: Env, pool_size: int, reset_keys: jax.Array, done: jax.Array, obs: jax.Array, state: Any
) -> tuple[jax.Array, Any]:
    """Reset the first `pool_size` finished envs only; exact when no more than that finish."""
    num_envs = done.shape[0]
    # indices of the finished envs, padded with B (off the end: gathers clamp, scatters drop)
    slots = jnp.flatnonzero(done, size=pool_size, fill_value=num_envs)
    fresh = jax.vmap(env.reset)(reset_keys[jnp.minimum(slots, num_envs - 1)])
    return jax.tree.map(
        lambda leaf, fresh_leaf: leaf.at[slots].set(fresh_leaf, mode="drop"), (obs, state), fresh
    )
