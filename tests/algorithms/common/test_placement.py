"""Seed-axis placement: one process leaves states alone; the multi-process path (seeds split
over a mesh, keys placed as key data, metrics replicated) trains what the plain path trains.

The two-process run itself is in tests/distributed/test_multiprocess_seeds.py (slow); here the
multi-process branch runs on this process's one device by pretending to be one of several.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec

from marlax.algorithms.common import placement
from marlax.algorithms.common.seed_axis import SeedAxisTrainer
from marlax.errors import ConfigError


class _RandomWalk(SeedAxisTrainer):
    """A seed's state: a key and a vector that takes one random step per update."""

    num_seeds = 3
    log_every = 2

    def __init__(self) -> None:
        SeedAxisTrainer.__init__(self)

    def init_one(self, key: jax.Array) -> dict:
        key, draw = jax.random.split(key)
        return {"key": key, "position": jax.random.normal(draw, (4,))}

    def update_one(self, state: dict) -> tuple[dict, dict]:
        key, draw = jax.random.split(state["key"])
        position = state["position"] + jax.random.normal(draw, (4,))
        return {"key": key, "position": position}, {"distance": jnp.linalg.norm(position)}


def test_one_process_places_nothing():
    assert placement.seed_sharding(3) is None
    tree = {"a": np.ones(3)}
    assert placement.place(tree, None) is tree
    assert _RandomWalk().sharding is None


def test_the_multiprocess_path_trains_what_the_plain_path_trains(monkeypatch):
    plain = _RandomWalk()
    state, metrics = plain.update(plain.init(jax.random.key(7)), 3)

    monkeypatch.setattr(placement, "is_multiprocess", lambda: True)
    split = _RandomWalk()
    assert split.sharding is not None and split.sharding.spec == PartitionSpec(placement.SEED_AXIS)
    split_state = split.init(jax.random.key(7))
    assert split_state["position"].sharding == split.sharding
    assert jax.dtypes.issubdtype(split_state["key"].dtype, jax.dtypes.prng_key)
    split_state, split_metrics = split.update(split_state, 3)

    assert split_metrics["distance"].shape == (3, 3)
    assert split_metrics["distance"].sharding.is_fully_replicated
    np.testing.assert_array_equal(split_metrics["distance"], metrics["distance"])
    np.testing.assert_array_equal(split_state["position"], state["position"])
    np.testing.assert_array_equal(
        jax.random.key_data(split_state["key"]), jax.random.key_data(state["key"])
    )


def test_seeds_that_do_not_split_over_the_devices_are_refused(monkeypatch):
    monkeypatch.setattr(placement, "is_multiprocess", lambda: True)
    devices = jax.devices() * 2  # as if a second process held one more device
    monkeypatch.setattr(placement.jax, "devices", lambda: devices)
    monkeypatch.setattr(placement.jax, "process_count", lambda: 2)
    with pytest.raises(ConfigError) as error:
        placement.seed_sharding(3)
    assert error.value.field == "run.num_seeds"
    assert "a multiple of 2" in str(error.value)
