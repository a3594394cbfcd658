"""Putting a learner's state on devices that may belong to other processes (`jax.distributed`).

    sharding = seed_sharding(num_seeds)      # None in a single-process run
    state = place(state, sharding)           # every leaf [S, ...] split over all devices

Seeds never exchange anything, so a learner whose state leads with the seed axis S runs across
processes by splitting S: each process computes its own seeds, and the program equals the
single-process one seed for seed. PPO splits its env batch instead (`ppo.trainer`), and uses
`put` for the leaves.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from marlax.runs.processes import is_multiprocess
from marlax.validate import require

SEED_AXIS = "seeds"


def put(leaf: Any, sharding: NamedSharding) -> jax.Array:
    """`leaf` (host or one local device) placed with `sharding`, which may span other
    processes' devices (every process must pass the same value).

    The value goes through host memory, and a typed PRNG key as its key data: `device_put` of
    a committed array or of key arrays onto other processes' devices is refused.
    """
    if not jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.device_put(np.asarray(leaf), sharding)
    data = jax.device_put(np.asarray(jax.random.key_data(leaf)), sharding)
    return jax.random.wrap_key_data(data, impl=jax.random.key_impl(leaf))


def seed_sharding(num_seeds: int) -> NamedSharding | None:
    """The seed axis (axis 0) split over every device of every process; None in a
    single-process run (one device, no placement needed).

    Raises:
        ConfigError: `run.num_seeds` does not split evenly over the devices of all processes.
    """
    if not is_multiprocess():
        return None
    devices = jax.devices()
    require(
        num_seeds % len(devices) == 0,
        "run.num_seeds",
        num_seeds,
        f"a multiple of {len(devices)}: in a multi-process run this learner splits its seeds "
        f"over the {len(devices)} devices of all {jax.process_count()} processes",
    )
    return NamedSharding(Mesh(np.asarray(devices), (SEED_AXIS,)), PartitionSpec(SEED_AXIS))


def replicated(sharding: NamedSharding) -> NamedSharding:
    """The same mesh, nothing split (what every process reads whole, e.g. metrics)."""
    return NamedSharding(sharding.mesh, PartitionSpec())


def place(tree: Any, sharding: NamedSharding | None) -> Any:
    """Every leaf of `tree` with `sharding` (unchanged when it is None)."""
    if sharding is None:
        return tree
    return jax.tree.map(lambda leaf: put(leaf, sharding), tree)
