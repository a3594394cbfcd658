"""Initialising a learner for several seeds: one call per seed, then stacked.

    state = init_seed_by_seed(jax.jit(init_one), jax.random.split(key, num_seeds))

Equal to `jax.vmap(init_one)(keys)`, but each seed's program finishes before the next starts.
A single vmapped init of three QMIX seeds, whose replays are tens of MB of zeros per seed, sat
at 0% CPU forever under `marlax train` in most tries while the progress bar's refresh thread
ran (an XLA:CPU runtime deadlock: py-spy showed the first op reading its output never
returning); seed by seed it never did. Updates stay vmapped over seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp


def init_seed_by_seed(init_one: Callable[[jax.Array], Any], keys: jax.Array) -> Any:
    """`init_one(key)` for each of `keys` (key[S]), one at a time; leaves stacked [S, ...]."""
    seeds = [jax.block_until_ready(init_one(key)) for key in keys]
    return jax.tree.map(lambda *leaves: jnp.stack(leaves), *seeds)
