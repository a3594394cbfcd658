"""SIGINT/SIGTERM as a request to stop a training loop at the end of its current call."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)
"""Signals that stop a run cleanly at the end of the current call."""


class StopRequest:
    """The first stop signal received (its name), set by the handler."""

    def __init__(self) -> None:
        self.signal_name: str | None = None

    def handle(self, signum: int, frame: Any) -> None:
        del frame
        if self.signal_name is not None:
            # a second signal: the user does not want to wait for the current call
            raise KeyboardInterrupt
        self.signal_name = signal.Signals(signum).name


@contextlib.contextmanager
def stop_requests() -> Iterator[StopRequest]:
    """SIGINT/SIGTERM handlers that ask the loop to stop; the old handlers come back after.

    Handlers can only be set in the main thread; elsewhere the signals keep their handlers.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.signal(signum, stop.handle) for signum in STOP_SIGNALS}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
