"""Run a config's Python in a child process with CPU-time, memory and wall-clock limits.

The AST and RestrictedPython checks decide what a config function may *say*; they cannot
bound what it computes: `10 ** 10 ** 10`, `math.factorial(10 ** 9)` or a format width of
`10 ** 9` hang or allocate gigabytes. So the whole tabulation of a config (compiling its
four functions and calling them over their domains) runs in one child process that sets
`resource.setrlimit` on itself before it touches config code:

- RLIMIT_CPU: SIGXCPU at the limit, SIGKILL a second later (a long C-level operation such
  as a big-integer power never returns to Python, so no handler could run);
- RLIMIT_AS: the address space the child starts with plus a budget, so allocations past
  it raise MemoryError;
- the parent kills the child after a wall-clock timeout.

The child reports the function it is working on before each compile and tabulation, so
a child killed by a limit is still reported as `environment.functions.<name>`. Children
come from a `forkserver` (one fork server per process, started with the tabulation code
already imported), so a child costs a fork (~20 ms), not an interpreter start, and never a
`fork()` of the parent, whose JAX threads make forking unsafe.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import resource
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from marlax.algorithms.meanfield_q.constants import (
    SANDBOX_CPU_SECONDS,
    SANDBOX_MEMORY_BYTES,
    SANDBOX_WALL_SECONDS,
)
from marlax.errors import ConfigError

Result = TypeVar("Result")
Report = Callable[[str], None]
"""Called by a task with the field it starts working on."""

_FUNCTIONS_FIELD = "environment.functions"
_STARTING = "<starting>"  # the field before the child's first report
_PRELOAD = ("__main__", "marlax.algorithms.meanfield_q.tabulate")


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of the child that evaluates a config's functions."""

    cpu_seconds: int = SANDBOX_CPU_SECONDS
    """CPU-time limit in seconds (RLIMIT_CPU)."""
    memory_bytes: int = SANDBOX_MEMORY_BYTES
    """Address space the child may add to its starting size (RLIMIT_AS), in bytes."""
    wall_seconds: float = SANDBOX_WALL_SECONDS
    """Wall-clock limit in seconds; the parent kills the child after it."""


DEFAULT_LIMITS = SandboxLimits()
"""The limits `run_isolated` applies when given none."""


def _address_space_bytes() -> int:
    """This process's virtual size (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * resource.getpagesize()


def _apply_limits(limits: SandboxLimits) -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    # the child starts as a copy of the fork server (interpreter, numpy, jax imported):
    # bound what it adds, not its total
    budget = _address_space_bytes() + limits.memory_bytes
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        budget = min(budget, hard)
    # macOS refuses RLIMIT_AS; the CPU and wall-clock limits still hold there
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))


def _plain(value: Any) -> Any:
    """A value that survives pickling between processes unchanged in meaning."""
    return value if isinstance(value, str | int | float | bool | None) else repr(value)


def _child(sender: Connection, task: Callable[[Report], Any], limits: SandboxLimits) -> None:
    """Child entry: limit itself, run the task, send ("done", result) or what went wrong."""
    _apply_limits(limits)
    try:
        result = task(lambda field: sender.send(("working", field)))
    except ConfigError as error:
        sender.send(("refused", error.field, _plain(error.value), error.expected))
    except MemoryError:
        sender.send(("memory",))
    except Exception:  # a bug outside config code: pass the traceback to the parent
        sender.send(("crashed", traceback.format_exc()))
    else:
        sender.send(("done", result))
    finally:
        sender.close()


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(_PRELOAD))
    return context


def _killed(field: str, exitcode: int | None, limits: SandboxLimits) -> Exception:
    if field == _STARTING:
        return RuntimeError(
            f"the config-evaluating child process failed to start (exit code {exitcode}); a "
            "script that runs mean-field code must guard its entry point with "
            "`if __name__ == '__main__':`, as multiprocessing requires"
        )
    if exitcode in (-signal.SIGXCPU, -signal.SIGKILL):
        return ConfigError(
            field,
            f"still computing after {limits.cpu_seconds} s of CPU time",
            f"a function that returns within the sandbox's CPU-time limit "
            f"({limits.cpu_seconds} s for the whole tabulation)",
        )
    return ConfigError(field, f"the evaluating process died (exit code {exitcode})", "a result")


def _answer(message: tuple, field: str, limits: SandboxLimits) -> Any:
    """The task's result, or the ConfigError the child's message describes."""
    kind = message[0]
    if kind == "done":
        return message[1]
    if kind == "refused":
        raise ConfigError(*message[1:])
    if kind == "memory":
        raise ConfigError(
            field,
            "MemoryError",
            f"a function within the sandbox's memory limit "
            f"({limits.memory_bytes / 2**20:,.0f} MiB)",
        )
    raise RuntimeError(f"config evaluation failed outside config code:\n{message[1]}")


def run_isolated(task: Callable[[Report], Result], limits: SandboxLimits | None = None) -> Result:
    """Run `task(report)` in a limited child process and return its (picklable) result.

    Args:
        task: a picklable callable (module-level, or a `functools.partial` of one); it
            calls `report(field)` before each piece of config code it evaluates.
        limits: defaults to `DEFAULT_LIMITS`.

    Raises:
        ConfigError: the task's own ConfigError, or one naming the last reported field and
            the limit that stopped it.
    """
    limits = DEFAULT_LIMITS if limits is None else limits
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, task, limits), daemon=True)
    process.start()
    sender.close()  # the child holds the only writer: its death ends the pipe
    field = _STARTING
    deadline = time.monotonic() + limits.wall_seconds
    try:
        while True:
            if not receiver.poll(max(deadline - time.monotonic(), 0.0)):
                raise ConfigError(
                    _FUNCTIONS_FIELD if field == _STARTING else field,
                    f"still running after {limits.wall_seconds:g} s",
                    f"a function that returns within the sandbox's wall-clock limit "
                    f"({limits.wall_seconds:g} s)",
                )
            try:
                message = receiver.recv()
            except EOFError:
                process.join()
                raise _killed(field, process.exitcode, limits) from None
            if message[0] != "working":
                return _answer(message, _FUNCTIONS_FIELD if field == _STARTING else field, limits)
            field = message[1]
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
