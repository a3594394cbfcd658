"""The profiling library: XLA's memory numbers for known programs, the JSON layout, checks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.profile import (
    HostProfile,
    ProgramProfile,
    UpdateProfile,
    measure_program,
    profile_update,
)
from marlax.algorithms.ppo.trainer import Trainer
from marlax.errors import ConfigError
from tests.algorithms.ppo.helpers import tiny_config


def test_measure_program_reports_the_compiled_programs_own_bytes_and_outputs():
    """Doubling f32[64, 32] with an unused second argument: arguments 64 * 32 * 4 bytes (jit
    prunes the unused one), outputs the same; the warm-up outputs are the function's values."""
    matrix = jnp.arange(64 * 32, dtype=jnp.float32).reshape(64, 32)
    unused = jnp.zeros((1000,))

    def _double(values: jax.Array, ignored: jax.Array) -> jax.Array:
        del ignored
        return 2.0 * values

    profile, doubled = measure_program("double", _double, (matrix, unused), repeats=3)
    assert profile.name == "double" and profile.compile_s > 0 and profile.median_s > 0
    assert (profile.argument_bytes, profile.output_bytes) == (64 * 32 * 4, 64 * 32 * 4)
    assert profile.peak_bytes == profile.temp_bytes + 2 * 64 * 32 * 4
    np.testing.assert_array_equal(doubled, 2.0 * matrix)


def test_to_dict_lays_out_every_number_with_derived_totals():
    programs = tuple(
        ProgramProfile(name, 1.5, 0.25, 10, 20, 30)
        for name in ("rollout", "gae", "learning_epoch", "update")
    )
    profile = UpdateProfile(
        programs=programs,
        host=HostProfile(step_s=0.5, dispatch_s=0.125, metrics_s=0.0625),
        num_epochs=4,
        num_seeds=2,
        env_steps_per_update=256,
        repeats=5,
        max_rss_bytes=1 << 30,
    )
    numbers = profile.to_dict()
    assert numbers["programs"]["gae"] == {
        "compile_s": 1.5,
        "median_s": 0.25,
        "temp_bytes": 10,
        "argument_bytes": 20,
        "output_bytes": 30,
        "peak_bytes": 60,
    }
    assert numbers["host"] == {
        "step_s": 0.5,
        "dispatch_s": 0.125,
        "metrics_s": 0.0625,
        "host_s": 0.1875,
    }
    assert {key: numbers[key] for key in ("num_epochs", "num_seeds", "repeats")} == {
        "num_epochs": 4,
        "num_seeds": 2,
        "repeats": 5,
    }
    assert profile.program("update") is programs[3]


@pytest.mark.parametrize(("field", "value"), [("repeats", 0), ("traced_updates", 0)])
def test_profile_update_rejects_nonpositive_counts_before_any_work(field, value):
    trainer = Trainer(tiny_config(env="nback"))
    with pytest.raises(ConfigError, match=field):
        profile_update(trainer, jax.random.key(0), **{field: value})
