"""Write a file so that readers see the old content or the new, never a half-written one.

write_atomic(path, b"...")          # temp file in the same folder, fsync, os.replace
write_json_atomic(path, {"a": 1})
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: Path, content: bytes) -> None:
    """Replace `path` by `content` in one step (the temp file shares its folder, so its fs)."""
    path = Path(path)
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as temp_file:
            temp_file.write(content)
            temp_file.flush()
            os.fsync(temp_file.fileno())
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise


def write_json_atomic(path: Path, value: Any) -> None:
    """`value` as indented JSON (strict: NaN and infinities are refused), atomically."""
    text = json.dumps(value, indent=2, allow_nan=False) + "\n"
    write_atomic(path, text.encode("utf-8"))
