"""Checkpoints: bitwise round trips (typed keys, bool, ints, dataclasses), steps, atomicity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer

# a quiet NaN with a payload, -0.0, -inf and a subnormal: bitwise, not just ==, must survive
SPECIAL_F32 = np.array([0x7FC00001, 0x80000000, 0xFF800000, 0x00000001], np.uint32).view(np.float32)


@struct.dataclass
class Inner:
    weights: jax.Array  # f32[2, 3]
    mask: np.ndarray  # bool[3]
    name: str = struct.field(pytree_node=False, default="inner")


@struct.dataclass
class TrainState:
    inner: Inner
    key: jax.Array  # key[3]
    step: jax.Array  # i32[]
    counts: jax.Array  # u32[2]
    pixels: np.ndarray  # u8[2, 2]
    special: jax.Array  # f32[4]
    empty: jax.Array  # f32[0, 4]


def _state(seed: int) -> dict:
    scale = float(seed + 1)
    return {
        "train": TrainState(
            inner=Inner(
                weights=jnp.arange(6, dtype=jnp.float32).reshape(2, 3) * scale,
                mask=np.array([True, seed % 2 == 0, False]),
            ),
            key=jax.random.split(jax.random.key(seed), 3),
            step=jnp.array(seed * 7, jnp.int32),
            counts=jnp.array([seed, 2**32 - 1], jnp.uint32),
            pixels=np.full((2, 2), 250 - seed, np.uint8),
            special=jnp.asarray(SPECIAL_F32) * (1 if seed == 0 else 2),
            empty=jnp.zeros((0, 4), jnp.float32),
        ),
        "rbg_key": jax.random.key(seed + 100, impl="rbg"),
        "scalars": (seed + 0.1, seed, seed == 0, np.float32(seed / 3)),
        "nested": {"deeper": [jnp.array([-seed], jnp.int32)]},
    }


def _bits(leaf) -> tuple:
    if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return ("key", str(leaf.dtype), np.asarray(jax.random.key_data(leaf)).tobytes())
    array = np.asarray(leaf)
    return (type(leaf).__name__, array.dtype.name, array.shape, array.tobytes())


def assert_bitwise_equal(restored, expected):
    assert jax.tree.structure(restored) == jax.tree.structure(expected)
    for got, want in zip(jax.tree.leaves(restored), jax.tree.leaves(expected), strict=True):
        assert _bits(got) == _bits(want)


def test_restore_returns_the_saved_values_bitwise(tmp_path):
    saved = _state(0)
    with Checkpointer(tmp_path / "ckpt") as checkpointer:
        assert checkpointer.save(5, saved, metadata={"env_steps": 640, "note": "a"})
        # the target's values are ignored: only its structure, shapes, dtypes and types count
        restored = checkpointer.restore(None, target=_state(1))
    assert_bitwise_equal(restored, saved)
    assert restored["train"].inner.name == "inner"
    assert isinstance(restored["train"].inner.mask, np.ndarray)
    assert isinstance(restored["train"].step, jax.Array)
    assert [type(value) for value in restored["scalars"]] == [float, int, bool, np.float32]
    assert jax.random.key_impl(restored["rbg_key"]) == jax.random.key_impl(saved["rbg_key"])
    # restored keys are live keys: they draw what the saved ones draw
    np.testing.assert_array_equal(
        jax.random.uniform(restored["train"].key[1]), jax.random.uniform(saved["train"].key[1])
    )


def test_restore_onto_an_abstract_target(tmp_path):
    saved = _state(2)
    checkpointer = Checkpointer(tmp_path)
    checkpointer.save(1, saved)
    abstract = jax.eval_shape(lambda: _state(2))  # Python scalars become 32-bit here
    restored = checkpointer.restore(1, target=abstract)
    for got, want in zip(jax.tree.leaves(restored), jax.tree.leaves(saved), strict=True):
        assert isinstance(got, jax.Array)
        if isinstance(want, jax.Array):
            assert _bits(got) == _bits(want)
        else:
            # numpy leaves keep their dtype; Python scalars take the abstract 32-bit one
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want).astype(got.dtype))
    assert jax.random.key_impl(restored["rbg_key"]) == jax.random.key_impl(saved["rbg_key"])
    checkpointer.close()


def test_steps_metadata_and_max_to_keep(tmp_path):
    checkpointer = Checkpointer(tmp_path / "ckpt", max_to_keep=2)
    assert checkpointer.latest_step() is None and checkpointer.all_steps() == []
    for step in (10, 20, 30):
        assert checkpointer.save(step, _state(step), metadata={"env_steps": step * 64})
    assert checkpointer.all_steps() == [20, 30] and checkpointer.latest_step() == 30
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["20", "30"]
    assert checkpointer.metadata(20) == {"env_steps": 1280}
    assert checkpointer.metadata() == {"env_steps": 1920}
    assert_bitwise_equal(checkpointer.restore(20, target=_state(0)), _state(20))
    # a step that is not newer than the latest writes nothing (the final save may repeat one)
    assert not checkpointer.save(30, _state(99))
    assert_bitwise_equal(checkpointer.restore(30, target=_state(0)), _state(30))
    checkpointer.close()
    # a fresh process sees the same checkpoints
    reopened = Checkpointer(tmp_path / "ckpt", max_to_keep=2)
    assert reopened.all_steps() == [20, 30]
    assert_bitwise_equal(reopened.restore(None, target=_state(0)), _state(30))
    reopened.close()


def test_leftover_tmp_folder_of_a_killed_save_is_ignored(tmp_path):
    directory = tmp_path / "ckpt"
    with Checkpointer(directory) as checkpointer:
        checkpointer.save(1, _state(1))
        checkpointer.save(2, _state(2))
    # what a save killed mid-way leaves: the step under orbax's temporary name, half written
    for leftover in ("3.orbax-checkpoint-tmp", "4.orbax-checkpoint-tmp-1700000000"):
        (directory / leftover / "state").mkdir(parents=True)
        (directory / leftover / "state" / "_METADATA").write_text("{trunc")
    checkpointer = Checkpointer(directory)
    assert checkpointer.latest_step() == 2 and checkpointer.all_steps() == [1, 2]
    assert_bitwise_equal(checkpointer.restore(None, target=_state(0)), _state(2))
    # the resumed run saves the step the killed one could not finish
    assert checkpointer.save(3, _state(3))
    assert checkpointer.latest_step() == 3
    assert_bitwise_equal(checkpointer.restore(3, target=_state(0)), _state(3))
    checkpointer.close()


def test_missing_folder_or_step_is_a_clear_error(tmp_path):
    checkpointer = Checkpointer(tmp_path / "missing")
    assert checkpointer.latest_step() is None and checkpointer.all_steps() == []
    with pytest.raises(ConfigError, match="at least one checkpoint") as error:
        checkpointer.restore(None, target=_state(0))
    assert error.value.value == str(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()  # reading never creates the folder
    checkpointer.save(4, _state(4))
    with pytest.raises(ConfigError, match="one of the saved steps: 4"):
        checkpointer.restore(3, target=_state(0))
    checkpointer.close()


def test_a_target_of_another_shape_or_dtype_is_refused(tmp_path):
    checkpointer = Checkpointer(tmp_path)
    checkpointer.save(1, {"w": np.zeros((2, 3), np.float32), "b": np.zeros(3, np.int32)})
    with pytest.raises(
        ValueError, match=r"\['w'\] float32\[2, 3\], target \['w'\] float32\[3, 3\]"
    ):
        checkpointer.restore(
            1, target={"w": np.zeros((3, 3), np.float32), "b": np.zeros(3, np.int32)}
        )
    with pytest.raises(ValueError, match=r"float32\[2, 3\], target \['w'\] float16"):
        checkpointer.restore(
            1, target={"w": np.zeros((2, 3), np.float16), "b": np.zeros(3, np.int32)}
        )
    with pytest.raises(ValueError, match="2 saved leaves, 3 in target"):
        checkpointer.restore(
            1, target={"w": np.zeros((2, 3), np.float32), "b": np.zeros(3, np.int32), "c": 1}
        )
    checkpointer.close()


def test_metadata_that_is_not_json_writes_nothing(tmp_path):
    checkpointer = Checkpointer(tmp_path / "ckpt")
    with pytest.raises(TypeError):
        checkpointer.save(1, _state(1), metadata={"when": object()})
    assert checkpointer.all_steps() == [] and not (tmp_path / "ckpt").exists()
    checkpointer.close()


@pytest.mark.parametrize("max_to_keep", [0, -1, 1.5, True])
def test_bad_max_to_keep(tmp_path, max_to_keep):
    with pytest.raises(ConfigError):
        Checkpointer(tmp_path, max_to_keep=max_to_keep)


_SAVE_FOREVER = """
import sys
import numpy as np
from marlax.runs.checkpoint import Checkpointer
checkpointer = Checkpointer(sys.argv[1], max_to_keep=2)
values = np.zeros(2_000_000, np.float32)
for step in range(1, 10_000):
    values[:] = step
    checkpointer.save(step, {"values": values, "step": step})
    print(step, flush=True)
"""


def test_sigkill_during_saves_leaves_the_latest_checkpoint_whole(tmp_path):
    directory = tmp_path / "ckpt"
    child = subprocess.Popen(
        [sys.executable, "-c", _SAVE_FOREVER, str(directory)], stdout=subprocess.PIPE, text=True
    )
    try:
        for _ in range(3):  # let it finish a few saves, then kill it mid-stream
            assert child.stdout.readline().strip(), "the saving process died early"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    checkpointer = Checkpointer(directory, max_to_keep=2)
    latest = checkpointer.latest_step()
    assert latest is not None and latest >= 3
    target = {"values": np.zeros(2_000_000, np.float32), "step": 0}
    restored = checkpointer.restore(None, target=target)
    assert restored["step"] == latest
    assert np.all(restored["values"] == latest)
    checkpointer.close()
