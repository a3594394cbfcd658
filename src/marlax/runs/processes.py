"""What the run files need to know in a multi-process run: who writes them, and a host copy.

In a `jax.distributed` run every process runs the same program; only process 0 writes the
run's files (metrics, status, curves), while every process takes part in checkpoints and in
the collectives that agree on a name or a stop. In a single-process run each function here is
the plain single-process answer and runs no collective.

    if is_primary_process(): folder.write_status(...)
    name = shared_from_primary(name if is_primary_process() else None)   # a collective
    host_state = host_local(state)       # a collective: numpy-readable on every process
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

_NAME_BYTES = 256  # run names are far shorter; the broadcast needs a fixed size


def is_primary_process() -> bool:
    """True in process 0 (and in a single-process run): the process that writes run files."""
    return jax.process_index() == 0


def is_multiprocess() -> bool:
    """True when this program runs in more than one process (`jax.distributed`)."""
    return jax.process_count() > 1


def host_local(tree: Any) -> Any:
    """`tree` with every leaf readable on this host (`jax.device_get` works on the result).

    A leaf sharded over other processes' devices is gathered whole (a collective: every
    process must call this with the same tree); replicated and local leaves pass unchanged.
    Typed PRNG keys are gathered as their key data and rebuilt on this host.
    """
    if not is_multiprocess():
        return tree
    return jax.tree.map(_host_local_leaf, tree)


def _host_local_leaf(leaf: Any) -> Any:
    if not isinstance(leaf, jax.Array) or leaf.is_fully_addressable:
        return leaf
    is_key = jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)
    data = jax.random.key_data(leaf) if is_key else leaf
    if data.is_fully_replicated:
        whole = np.asarray(data.addressable_data(0))
    else:
        whole = np.asarray(multihost_utils.process_allgather(data, tiled=True))
    if is_key:
        return jax.random.wrap_key_data(whole, impl=jax.random.key_impl(leaf))
    return whole


def shared_from_primary(text: str | None) -> str | None:
    """Process 0's `text` on every process (a collective); None stays None.

    Other processes' arguments are ignored. Single-process: `text` itself.
    """
    if not is_multiprocess():
        return text
    encoded = b"" if text is None else b"\x01" + text.encode("utf-8")
    if len(encoded) > _NAME_BYTES:
        raise ValueError(f"{text!r} is longer than {_NAME_BYTES - 1} bytes")
    buffer = np.zeros(_NAME_BYTES, np.uint8)
    if is_primary_process():
        buffer[: len(encoded)] = np.frombuffer(encoded, np.uint8)
    shared = bytes(np.asarray(multihost_utils.broadcast_one_to_all(buffer))).rstrip(b"\0")
    return shared[1:].decode("utf-8") if shared else None


def any_process(flag: int) -> int:
    """The largest of every process's `flag` (>= 0), on every process (a collective).

    Used to agree on a stop: each passes its signal number (0 = none), and all stop if any
    was signalled. Single-process: `flag` itself.
    """
    if not is_multiprocess():
        return flag
    flags = multihost_utils.process_allgather(np.asarray(flag, np.int32))
    return int(np.max(flags))
