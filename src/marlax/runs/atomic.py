"""Write a file so that readers see the old content or the new, never a half-written one.

One context manager serves every writer (bytes, JSON, numpy archives, videos, images):

    with atomic_path(path) as temporary:        # a fresh name in path's folder, same suffix
        np.savez_compressed(temporary, ...)     # any library that writes to a file name
    # here `path` holds the complete file (fsynced, then renamed over the old one)

write_atomic(path, b"...")                      # bytes, the common case
write_json_atomic(path, {"a": 1})               # strict JSON (no NaN or infinities)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_FILE_MODE = 0o666  # an ordinary file, before the umask (mkstemp alone makes it owner-only)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write `path`'s new content to; moved onto `path` on success.

    The temporary file sits in the same folder (so the rename stays on one file system),
    shares `path`'s suffix (writers that pick a format by extension still work) and starts
    empty. When the block ends normally its content is fsynced and `os.replace`d onto
    `path`, and the folder is fsynced so the rename survives a crash. When the block
    raises, the temporary file is removed and `path` is untouched. Missing folders are
    created.

    Args:
        path: the file to (re)write.

    Yields:
        The temporary file's path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.stem}.", suffix=f".partial{path.suffix}"
    )
    os.close(handle)
    temporary = Path(temp_name)
    try:
        yield temporary
        _chmod_like_a_new_file(temporary)
        _fsync_file(temporary)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    _fsync_folder(path.parent)


def write_atomic(path: str | os.PathLike[str], content: bytes) -> None:
    """Replace `path` by `content` in one step (see `atomic_path`)."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(content)


def write_json_atomic(path: str | os.PathLike[str], value: Any) -> None:
    """`value` as indented JSON, atomically.

    Strict: NaN and infinities are refused (ValueError) rather than written as invalid JSON;
    pass values through `marlax.runs.jsonable.jsonable` first where a missing number is
    expected.
    """
    text = json.dumps(value, indent=2, allow_nan=False) + "\n"
    write_atomic(path, text.encode("utf-8"))


def _chmod_like_a_new_file(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, _FILE_MODE & ~umask)


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside `folder` durable (a no-op where folders cannot be opened)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
