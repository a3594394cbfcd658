"""`marlax launch --local P -- train ...`: P processes of one multi-process run on this machine.

    code = launch_local(2, ["train", "-c", "configs/simple_spread.json"], timeout_s=600)

Each process is `python -m marlax.cli.app <argv>` with `MARLAX_COORDINATOR` (a free loopback
port), `MARLAX_NUM_PROCESSES` and `MARLAX_PROCESS_ID` set, so `marlax train` joins the run.
Their output is streamed with a `[p<i>]` prefix. When one exits with a non-zero code the others
cannot go on (their collectives would wait for it until XLA's timeout), so they are stopped:
SIGTERM, then SIGKILL after a grace period; the launcher returns the first failure's code.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TextIO

from marlax.distributed.process import ENV_COORDINATOR, ENV_NUM_PROCESSES, ENV_PROCESS_ID
from marlax.validate import require, require_positive, require_positive_int

LOOPBACK = "127.0.0.1"
TIMEOUT_EXIT_CODE = 124
"""What `launch_local` returns when its timeout ends the run (as coreutils `timeout` does)."""
_POLL_S = 0.1
_FORWARDED = (signal.SIGINT, signal.SIGTERM)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def exit_code(returncode: int) -> int:
    """A shell-style exit code: a process killed by signal N (returncode -N) gives 128 + N."""
    return 128 - returncode if returncode < 0 else returncode


def describe_exit(returncode: int) -> str:
    """'exited with code 1' or 'was killed by SIGKILL'."""
    if returncode < 0:
        return f"was killed by {signal.Signals(-returncode).name}"
    return f"exited with code {returncode}"


class LocalCluster:
    """P processes of one `jax.distributed` run on this machine (see the module docstring).

    Args:
        num_processes: P (>= 1).
        argv: the marlax command line every process runs, e.g. ["train", "-c", "x.json"].
        env: the environment the processes start from (default: this process's).
        output: where their prefixed output goes (default: stdout).
        grace_s: seconds between SIGTERM and SIGKILL when stopping the others.
    """

    def __init__(
        self,
        num_processes: int,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        output: TextIO | None = None,
        grace_s: float = 10.0,
    ) -> None:
        self.num_processes = require_positive_int("--local", num_processes)
        require(len(argv) > 0, "command", list(argv), "a marlax command after --, e.g. train")
        self.argv = [str(arg) for arg in argv]
        self.env = dict(os.environ if env is None else env)
        self.output = output if output is not None else sys.stdout
        self.grace_s = require_positive("grace_s", grace_s)
        self.processes: list[subprocess.Popen] = []
        self.passed_on = False  # set once a signal to the launcher was passed on
        self._pumps: list[threading.Thread] = []
        self._write_lock = threading.Lock()

    def start(self) -> None:
        """Start every process on a fresh loopback coordinator port."""
        coordinator = f"{LOOPBACK}:{free_port()}"
        command = [sys.executable, "-m", "marlax.cli.app", *self.argv]
        for process_id in range(self.num_processes):
            env = dict(self.env)
            env[ENV_COORDINATOR] = coordinator
            env[ENV_NUM_PROCESSES] = str(self.num_processes)
            env[ENV_PROCESS_ID] = str(process_id)
            process = subprocess.Popen(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
                start_new_session=True,  # a terminal's Ctrl-C reaches them only via the launcher
            )
            self.processes.append(process)
            pump = threading.Thread(target=self._pump, args=(process_id, process), daemon=True)
            pump.start()
            self._pumps.append(pump)
        self.say(f"started {self.num_processes} processes (coordinator {coordinator})")

    def say(self, line: str) -> None:
        """One line of the launcher's own in the output, prefixed `[launch]`."""
        self._write(f"[launch] {line}\n")

    def _pump(self, process_id: int, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self._write(f"[p{process_id}] {line}")

    def _write(self, text: str) -> None:
        with self._write_lock:
            self.output.write(text)
            self.output.flush()

    def wait(self, timeout_s: float | None = None) -> int:
        """Wait for every process; 0 when all succeed, else the first failure's exit code.

        A failure (or the timeout, code 124) stops the processes still running, unless a
        signal was passed on to them (`pass_on`): then each is stopping by itself, saving a
        checkpoint with the others, and is waited for.
        """
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            codes = [process.poll() for process in self.processes]
            failed = [(i, code) for i, code in enumerate(codes) if code not in (None, 0)]
            running = sum(code is None for code in codes)
            if failed and (running == 0 or not self.passed_on):
                process_id, code = failed[0]
                stopping = f"; stopping the {running} still running" if running else ""
                self.say(f"process {process_id} {describe_exit(code)}{stopping}")
                self.stop()
                return exit_code(code)
            if all(code == 0 for code in codes):
                self._join_pumps()
                return 0
            if deadline is not None and time.monotonic() > deadline:
                self.say(f"timed out after {timeout_s:g} s; stopping every process")
                self.stop()
                return TIMEOUT_EXIT_CODE
            time.sleep(_POLL_S)

    def pass_on(self, signum: int) -> None:
        """Send the launcher's SIGINT/SIGTERM to every process: each stops cleanly by itself."""
        self.passed_on = True
        self.say(f"passing {signal.Signals(signum).name} on to every process")
        self.signal_all(signum)

    def signal_all(self, signum: int) -> None:
        """Send `signum` to every process still running."""
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signum)

    def stop(self) -> None:
        """SIGTERM to those still running, SIGKILL to those still running `grace_s` later."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_s
        while time.monotonic() < deadline and any(p.poll() is None for p in self.processes):
            time.sleep(_POLL_S)
        self.signal_all(signal.SIGKILL)
        for process in self.processes:
            process.wait()
        self._join_pumps()

    def _join_pumps(self) -> None:
        for pump in self._pumps:
            pump.join(timeout=5.0)


def launch_local(
    num_processes: int,
    argv: Sequence[str],
    *,
    timeout_s: float | None = None,
    env: Mapping[str, str] | None = None,
    output: TextIO | None = None,
) -> int:
    """Run `marlax <argv>` as `num_processes` processes of one run here; their exit code.

    SIGINT and SIGTERM to the launcher are passed on to every process (a training run then
    stops after its current call with a checkpoint, as a single process does).

    Returns:
        0 when every process succeeded; else the first failure's exit code (128 + N for a
        process killed by signal N), or 124 when `timeout_s` ran out.
    """
    if timeout_s is not None:
        require_positive("--timeout", timeout_s)
    cluster = LocalCluster(num_processes, argv, env=env, output=output)
    with _forwarded_signals(cluster):
        cluster.start()
        return cluster.wait(timeout_s)


@contextlib.contextmanager
def _forwarded_signals(cluster: LocalCluster) -> Iterator[None]:
    """Pass SIGINT/SIGTERM on to the cluster's processes while inside (main thread only).

    The processes run in their own session, so a Ctrl-C reaches them once, through here.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _pass_on(signum: int, frame: object) -> None:
        del frame
        cluster.pass_on(signum)

    previous = {signum: signal.signal(signum, _pass_on) for signum in _FORWARDED}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
