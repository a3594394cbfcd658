"""Which process this is in a multi-process run, and starting `jax.distributed` once.

    spec = process_spec(coordinator, num_processes, process_id)   # CLI values, or None each
    if spec is not None:
        initialize(spec)          # before anything runs on a JAX device

A value given on the command line wins; otherwise the launcher's environment variables
(`MARLAX_COORDINATOR`, `MARLAX_NUM_PROCESSES`, `MARLAX_PROCESS_ID`, set by `marlax launch`)
are read. With none of them, training is single-process. `auto` leaves whatever is still
missing to `jax.distributed.initialize()`, which reads SLURM, Open MPI and cloud TPU
environments itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import jax

from marlax.errors import ConfigError
from marlax.runs.processes import is_primary_process
from marlax.validate import require, require_int

ENV_COORDINATOR = "MARLAX_COORDINATOR"
"""HOST:PORT of process 0's coordination service."""
ENV_NUM_PROCESSES = "MARLAX_NUM_PROCESSES"
"""How many processes the run has."""
ENV_PROCESS_ID = "MARLAX_PROCESS_ID"
"""This process's index, 0 to num_processes - 1."""

_MAX_PORT = 65535


@dataclass(frozen=True)
class ProcessSpec:
    """One process's place in a multi-process run (the arguments of `jax.distributed`)."""

    coordinator: str | None = None
    """HOST:PORT where process 0 serves the coordination service (every process names it)."""
    num_processes: int | None = None
    """How many processes take part (>= 1)."""
    process_id: int | None = None
    """This process's index, in [0, num_processes)."""
    auto_detect: bool = False
    """Let `jax.distributed.initialize()` fill in the fields left None (SLURM, MPI, TPU)."""

    def __post_init__(self) -> None:
        _check(self.values(), ("coordinator", "num_processes", "process_id"), self.auto_detect)

    def describe(self) -> str:
        """'process 1 of 2 (coordinator 127.0.0.1:7777)', with '?' for auto-detected fields."""
        shown = [("?" if value is None else value) for value in self.values()]
        return f"process {shown[2]} of {shown[1]} (coordinator {shown[0]})"

    def values(self) -> tuple[str | None, int | None, int | None]:
        return self.coordinator, self.num_processes, self.process_id


def _check(values: tuple, names: tuple[str, str, str], auto_detect: bool) -> None:
    """ConfigError naming the first bad field by `names` (as the user gave each one).

    Args:
        values: (coordinator, num_processes, process_id), None where not given.
        names: the field names to report (option or environment variable names).
        auto_detect: whether fields left None are JAX's to detect.
    """
    coordinator, num_processes, process_id = values
    if not auto_detect:
        for name, value in zip(names, values, strict=True):
            others = " and ".join(other for other in names if other != name)
            require(value is not None, name, value, f"a value, given together with {others}")
    if coordinator is not None:
        _check_address(names[0], coordinator)
    if num_processes is not None:
        require_int(names[1], num_processes, minimum=1)
    if process_id is not None:
        require_int(names[2], process_id, minimum=0)
        if num_processes is not None:
            require(
                process_id < num_processes,
                names[2],
                process_id,
                f"an index below the number of processes ({num_processes})",
            )


def _check_address(field: str, address: object) -> None:
    expected = "HOST:PORT, e.g. 10.0.0.1:7777 (the port of process 0's coordinator)"
    require(isinstance(address, str) and ":" in address, field, address, expected)
    host, _, port = str(address).rpartition(":")
    require(bool(host.strip()) and port.isdigit(), field, address, expected)
    require(0 < int(port) <= _MAX_PORT, field, address, f"a port in 1..{_MAX_PORT}")


def process_spec(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    auto: bool = False,
    environ: Mapping[str, str] | None = None,
) -> ProcessSpec | None:
    """This process's spec from command-line values, else the environment; None = one process.

    Args:
        coordinator, num_processes, process_id: the `--coordinator`, `--num-processes`,
            `--process-id` values (None when not given).
        auto: `--distributed auto`: fields given by neither are left to JAX's cluster detection.
        environ: where the `MARLAX_*` variables are read (default: `os.environ`).

    Raises:
        ConfigError: a malformed or missing value, named as the user gave it (option or
            variable name).
    """
    environ = os.environ if environ is None else environ
    sources = [
        _pick("--coordinator", coordinator, ENV_COORDINATOR, environ, _parse_text),
        _pick("--num-processes", num_processes, ENV_NUM_PROCESSES, environ, _parse_int),
        _pick("--process-id", process_id, ENV_PROCESS_ID, environ, _parse_int),
    ]
    if not auto and all(value is None for _, value in sources):
        return None
    names = tuple(name for name, _ in sources)
    values = tuple(value for _, value in sources)
    _check(values, names, auto)  # before the dataclass, so errors name what the user typed
    return ProcessSpec(*values, auto_detect=auto)


def _pick(option: str, given: object, variable: str, environ: Mapping[str, str], parse) -> tuple:
    """(the field's name as the user gave it, its value): the option, else the variable."""
    if given is not None:
        return option, given
    raw = environ.get(variable, "").strip()
    if not raw:
        return option, None
    return variable, parse(variable, raw)


def _parse_text(variable: str, raw: str) -> str:
    del variable
    return raw


def _parse_int(variable: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(variable, raw, "an integer") from None


def initialize(spec: ProcessSpec) -> None:
    """Join the run described by `spec` (`jax.distributed.initialize`); a repeat is a no-op.

    Must run before any JAX computation in this process (JAX refuses it afterwards). On CPU
    the collectives between processes go over gloo (TCP).
    """
    if jax.distributed.is_initialized():
        return
    coordinator, num_processes, process_id = spec.values()
    jax.distributed.initialize(
        coordinator_address=coordinator, num_processes=num_processes, process_id=process_id
    )


def is_primary() -> bool:
    """True in process 0 (and in a single-process run): the one that writes run files."""
    return is_primary_process()
