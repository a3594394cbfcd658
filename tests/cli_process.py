"""Run the marlax CLI in a real process, and check that it refused bad input.

A refusal is the CLI's answer to bad input (STYLE.md, Errors): exit code 2 and one stderr
line naming the field, never a traceback. Only a real process shows the whole path: the entry
point, the error handler and how the line is printed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

MARLAX = (sys.executable, "-m", "marlax.cli.app")
"""`marlax` as a module of the test's own interpreter, so that no installed script is needed."""


def run_marlax(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """`python -m marlax.cli.app ARGS`, with stdout and stderr captured as text.

    Args:
        *args: the command line after `marlax`, e.g. `"train", "-c", str(path)`.
        cwd: folder to run in (a test's tmp_path keeps any `runs/` out of the checkout);
            None runs in the current folder.
        timeout: seconds before the process is killed and the test fails.
        env: the child's whole environment; None inherits this process's.

    Returns:
        The finished process; its return code is not checked.
    """
    return subprocess.run(
        [*MARLAX, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
    )


def assert_refused(result: subprocess.CompletedProcess, field: str) -> str:
    """Assert that the CLI refused its input: exit 2 and one stderr line naming `field`.

    Args:
        result: a finished CLI process, e.g. from `run_marlax`.
        field: text the line must contain, usually the config field or option at fault.

    Returns:
        The one stderr line, for assertions on the rest of the message.
    """
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]
