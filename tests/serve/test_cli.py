"""`marlax serve` refuses bad input with one line and exit code 2, before Ray starts."""

from __future__ import annotations

import pytest

from tests.cli_process import assert_refused, run_marlax


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
    env = {"PATH": "/usr/bin:/bin"}
    result = run_marlax("serve", *arguments, "--runs-dir", "runs", cwd=tmp_path, env=env)
    assert_refused(result, field)
