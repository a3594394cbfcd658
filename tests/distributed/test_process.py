"""Which process this is: `ProcessSpec`, `process_spec` (options, then MARLAX_* variables) and
the `marlax train`/`marlax launch` options that carry them (no processes are started here)."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from marlax.cli import launch as launch_cli
from marlax.cli import train as train_cli
from marlax.distributed import ProcessSpec, process_spec
from marlax.distributed.launch import describe_exit, exit_code, free_port
from marlax.errors import ConfigError
from tests.cli_process import assert_refused, run_marlax

NO_VARIABLES: dict[str, str] = {}
LAUNCHED = {
    "MARLAX_COORDINATOR": "127.0.0.1:7777",
    "MARLAX_NUM_PROCESSES": "2",
    "MARLAX_PROCESS_ID": "1",
}


def test_no_option_and_no_variable_means_a_single_process():
    assert process_spec(environ=NO_VARIABLES) is None


def test_the_launchers_variables_describe_the_process():
    assert process_spec(environ=LAUNCHED) == ProcessSpec("127.0.0.1:7777", 2, 1)


def test_an_option_wins_over_its_variable():
    spec = process_spec(process_id=0, environ=LAUNCHED)
    assert spec == ProcessSpec("127.0.0.1:7777", 2, 0)


def test_auto_leaves_the_missing_fields_to_jax():
    spec = process_spec(auto=True, environ=NO_VARIABLES)
    assert spec == ProcessSpec(None, None, None, auto_detect=True)
    assert spec.describe() == "process ? of ? (coordinator ?)"


@pytest.mark.parametrize(
    ("options", "variables", "field"),
    [
        ({"num_processes": 2, "process_id": 0}, {}, "--coordinator"),
        ({"coordinator": "h:1", "process_id": 0}, {}, "--num-processes"),
        ({"coordinator": "h:1", "num_processes": 2, "process_id": 2}, {}, "--process-id"),
        ({"coordinator": "h:1", "num_processes": 0, "process_id": 0}, {}, "--num-processes"),
        ({"coordinator": "h:1", "num_processes": 2, "process_id": -1}, {}, "--process-id"),
        ({"coordinator": "h", "num_processes": 2, "process_id": 0}, {}, "--coordinator"),
        ({"coordinator": ":80", "num_processes": 2, "process_id": 0}, {}, "--coordinator"),
        ({"coordinator": "h:70000", "num_processes": 2, "process_id": 0}, {}, "--coordinator"),
        ({}, {**LAUNCHED, "MARLAX_NUM_PROCESSES": "two"}, "MARLAX_NUM_PROCESSES"),
        ({}, {**LAUNCHED, "MARLAX_PROCESS_ID": "5"}, "MARLAX_PROCESS_ID"),
        ({}, {"MARLAX_PROCESS_ID": "0"}, "--coordinator"),
    ],
)
def test_a_bad_or_missing_value_names_the_field_as_given(options, variables, field):
    with pytest.raises(ConfigError) as caught:
        process_spec(**options, environ=variables)
    assert caught.value.field == field


def test_a_spec_built_directly_checks_its_fields():
    with pytest.raises(ConfigError, match="process_id"):
        ProcessSpec("127.0.0.1:7777", 2, 2)
    with pytest.raises(ConfigError, match="coordinator"):
        ProcessSpec(None, 2, 0)


def test_exit_codes_follow_the_shell():
    assert (exit_code(0), exit_code(2), exit_code(-9), exit_code(-15)) == (0, 2, 137, 143)
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(3) == "exited with code 3"


def test_free_port_is_a_usable_port():
    assert 0 < free_port() <= 65535


def _app() -> typer.Typer:
    app = typer.Typer()
    train_cli.register(app)
    launch_cli.register(app)
    return app


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (["train", "--num-processes", "2", "--process-id", "0"], "--coordinator"),
        (
            ["train", "--coordinator", "h:1", "--num-processes", "2", "--process-id", "3"],
            "--process-id",
        ),
        (["train", "--distributed", "slurm"], "--distributed"),
        (["launch", "--local", "0", "--", "train"], "--local"),
        (["launch", "--local", "2"], "command"),
        (["launch", "--local", "2", "--timeout", "0", "--", "train"], "--timeout"),
    ],
)
def test_bad_process_options_stop_before_anything_starts(monkeypatch, arguments, field):
    for variable in LAUNCHED:
        monkeypatch.delenv(variable, raising=False)
    result = CliRunner().invoke(_app(), arguments)
    assert isinstance(result.exception, ConfigError), result.output
    assert result.exception.field == field


def test_a_bad_option_is_one_line_and_exit_code_2(tmp_path):
    result = run_marlax("train", "--num-processes", "2", cwd=tmp_path, timeout=60)
    assert_refused(result, "--coordinator")
    assert not (tmp_path / "runs").exists()
