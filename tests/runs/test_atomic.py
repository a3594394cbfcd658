"""`atomic_path` and its wrappers: the old file or the new one, never a torn one, no leftovers."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from marlax.runs.atomic import atomic_path, write_atomic, write_json_atomic


def test_the_new_content_replaces_the_old_and_nothing_else_is_left(tmp_path):
    path = tmp_path / "table.npz"
    write_atomic(path, b"old")
    with atomic_path(path) as temporary:
        assert temporary.parent == tmp_path and temporary != path
        assert temporary.suffix == ".npz"  # writers that pick a format by extension still work
        assert path.read_bytes() == b"old"  # readers see the old file until the block ends
        with open(temporary, "wb") as handle:
            np.savez_compressed(handle, q=np.arange(3))
    with np.load(path) as data:
        np.testing.assert_array_equal(data["q"], np.arange(3))
    assert [entry.name for entry in tmp_path.iterdir()] == ["table.npz"]


def test_an_error_in_the_block_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "results.json"
    write_atomic(path, b"old")
    with pytest.raises(RuntimeError, match="writer crashed"), atomic_path(path) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("writer crashed")
    assert path.read_bytes() == b"old"
    assert [entry.name for entry in tmp_path.iterdir()] == ["results.json"]


def test_missing_folders_are_created_and_the_file_is_an_ordinary_one(tmp_path):
    path = tmp_path / "a" / "b" / "c.txt"
    umask = os.umask(0o022)
    try:
        write_atomic(path, b"x")
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"x"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's owner-only 0o600


def test_json_is_strict_a_nan_is_refused_and_the_old_file_kept(tmp_path):
    path = tmp_path / "status.json"
    write_json_atomic(path, {"best_return": 1.5})
    with pytest.raises(ValueError, match="JSON compliant"):
        write_json_atomic(path, {"best_return": float("nan")})
    assert json.loads(path.read_text()) == {"best_return": 1.5}
    assert [entry.name for entry in tmp_path.iterdir()] == ["status.json"]
