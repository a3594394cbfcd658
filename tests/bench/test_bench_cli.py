"""`marlax bench`: argument parsing, bad input exit code, and one tiny end-to-end run (slow)."""

from __future__ import annotations

import pytest

from marlax.cli.bench import _agent_counts, _check
from marlax.errors import ConfigError
from tests.cli_process import assert_refused, run_marlax


def test_agents_take_several_values():
    assert _agent_counts([100], ["500", "1000"]) == [100, 500, 1000]
    with pytest.raises(ConfigError):
        _agent_counts([100], ["many"])
    with pytest.raises(ConfigError):
        _check([0], 1, 1, 1, 1)
    with pytest.raises(ConfigError):
        _check([], 1, 1, 1, 1)
    with pytest.raises(ConfigError):
        _check([8], 1, 0, 1, 1)
    _check([8, 16], 1, 1, 1, 1)


def test_bad_option_exits_2_with_one_line(tmp_path):
    assert_refused(run_marlax("bench", "--agents", "0", cwd=tmp_path), "agents")


@pytest.mark.slow
def test_tiny_run_prints_table_and_plot(tmp_path):
    result = run_marlax(
        "bench",
        "--agents",
        "8",
        "16",
        "--batch",
        "1",
        "--dim",
        "4",
        "--tasks",
        "2",
        "--repeats",
        "1",
        "--plot",
        "scaling.png",
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "exponent" in result.stdout
    assert (tmp_path / "scaling.png").stat().st_size > 0
