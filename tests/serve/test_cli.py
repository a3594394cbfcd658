"""`marlax serve` refuses bad input with one line and exit code 2, before Ray starts."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (["no-such-run"], "run"),
        (["some-run", "--host", "0.0.0.0"], "host"),
        (["some-run", "--replicas", "0"], "replicas"),
        (["some-run", "--grpc-port", "9001"], "grpc_port"),  # gRPC binds [::]: token needed
        (["some-run", "--grpc-port", "8000", "--token", "t"], "grpc_port"),  # the HTTP port
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, arguments, field):
    command = [sys.executable, "-m", "marlax.cli.app", "serve", *arguments, "--runs-dir", "runs"]
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0], result.stderr
    assert "Traceback" not in result.stderr
