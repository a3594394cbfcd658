"""`launch_local`: a failing process ends the launch with its exit code and its output shown."""

from __future__ import annotations

import io

from marlax.distributed import launch_local


def test_a_failing_process_returns_its_code_with_prefixed_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output = io.StringIO()
    code = launch_local(2, ["train", "--distributed", "slurm"], timeout_s=120, output=output)
    lines = output.getvalue().splitlines()
    assert code == 2, lines
    assert lines[0].startswith("[launch] started 2 processes (coordinator 127.0.0.1:")
    assert any(
        line.startswith("[launch] process ") and "exited with code 2" in line for line in lines
    )
    errors = [line for line in lines if "error:" in line and "--distributed='slurm'" in line]
    assert errors and all(line.startswith(("[p0] ", "[p1] ")) for line in errors)
