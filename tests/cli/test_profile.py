"""`marlax profile`: a run folder with profile.json and a trace, a table; bad input -> exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import pytest
import typer
from typer.testing import CliRunner

from marlax.algorithms.ppo.profile import PIECES, PROFILE_DIR, PROFILE_JSON
from marlax.algorithms.ppo.trainer import Trainer
from marlax.cli import profile as profile_cli
from marlax.config import load_config
from tests.cli_process import assert_refused, run_marlax

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("cli.test_profile")

TINY = {
    "env": {"name": "nback", "num_envs": 4, "params": {"max_n": 2, "max_steps": 8}},
    "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
    "ppo": {"total_env_steps": 64, "rollout_length": 8, "num_epochs": 2, "num_minibatches": 2},
    "run": {"log_every": 1, "checkpoint_every": 1},
}
PROGRAM_FIELDS = ("compile_s", "median_s", "temp_bytes", "argument_bytes", "output_bytes")
HOST_FIELDS = ("step_s", "dispatch_s", "metrics_s", "host_s")
PARTS_PER_WHOLE = 10.0
"""Generous: medians of a few calls on a shared host; a piece is part of the update, so a
larger ratio means the pieces or the update were timed wrongly, not that the host was busy."""


def _write_config(folder: Path) -> Path:
    path = folder / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def _app() -> typer.Typer:
    app = typer.Typer()
    profile_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `profile` a subcommand
    return app


@pytest.fixture(scope="module")
def profiled(tmp_path_factory) -> tuple[Path, str]:
    """One profile of the tiny config (~15 s on 2 idle cores): (run folder, CLI output)."""
    root = tmp_path_factory.mktemp("profile")
    arguments = ["profile", "-c", str(_write_config(root)), "--runs-dir", str(root / "runs")]
    arguments += ["--name", "tiny-profile", "--repeats", "5"]
    result = CliRunner().invoke(_app(), arguments)
    assert result.exit_code == 0, result.output
    return root / "runs" / "tiny-profile", result.output


def test_profile_json_has_every_number_and_they_are_positive(profiled):
    folder, _ = profiled
    numbers = json.loads((folder / PROFILE_JSON).read_text())
    assert tuple(numbers["programs"]) == PIECES
    for piece, program in numbers["programs"].items():
        assert all(program[field] >= 0 for field in PROGRAM_FIELDS), piece
        assert program["compile_s"] > 0 and program["median_s"] > 0, piece
        assert program["argument_bytes"] > 0 and program["output_bytes"] > 0, piece
        peak = program["temp_bytes"] + program["argument_bytes"] + program["output_bytes"]
        assert program["peak_bytes"] == peak, piece
    host = numbers["host"]
    assert all(host[field] > 0 for field in HOST_FIELDS)
    assert host["host_s"] == pytest.approx(host["dispatch_s"] + host["metrics_s"])
    assert host["step_s"] >= host["metrics_s"]
    assert numbers["max_rss_bytes"] > 0 and numbers["repeats"] == 5
    assert (numbers["num_epochs"], numbers["num_seeds"]) == (2, 1)
    assert numbers["env_steps_per_update"] == 4 * 8  # num_envs * rollout_length


def test_each_part_takes_no_longer_than_the_whole_update_allows(profiled):
    """Medians, so only a generous bound: each piece of one seed within 10x the update."""
    folder, _ = profiled
    programs = json.loads((folder / PROFILE_JSON).read_text())["programs"]
    whole = programs["update"]["median_s"]
    for piece in ("rollout", "gae", "learning_epoch"):
        assert programs[piece]["median_s"] <= PARTS_PER_WHOLE * whole, (piece, programs)


def test_learning_epoch_takes_parameters_and_both_adam_moments(profiled):
    """XLA's argument bytes of the epoch program hold params, Adam's mu and nu (3x params):
    the memory numbers belong to the program they name."""
    folder, _ = profiled
    programs = json.loads((folder / PROFILE_JSON).read_text())["programs"]
    config = load_config(folder / "config.json")
    trainer = Trainer(config)
    params = jax.eval_shape(
        lambda key: trainer.networks.init(key, trainer.layout), jax.random.key(0)
    )
    params_bytes = sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(params))
    assert programs["learning_epoch"]["argument_bytes"] >= 3 * params_bytes
    assert programs["rollout"]["argument_bytes"] < programs["learning_epoch"]["argument_bytes"]


def test_the_run_folder_holds_a_trace_config_and_finished_status(profiled):
    folder, output = profiled
    traces = [path for path in (folder / PROFILE_DIR).rglob("*") if path.is_file()]
    assert any(path.name.endswith((".xplane.pb", ".trace.json.gz")) for path in traces)
    assert all(path.stat().st_size > 0 for path in traces)
    status = json.loads((folder / "status.json").read_text())
    assert (status["state"], status["learner"]) == ("finished", "ppo-profile")
    assert load_config(folder / "config.json").envs[0].name == "nback"
    assert "tiny-profile" in output and "whole update" in output and "rollout" in output


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        (["--set", "ppo.learning_rate=-1"], "ppo.learning_rate"),
        (["--set", "optimizer.name=sgd"], "optimizer.name"),
        (["--repeats", "0"], "--repeats"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, arguments, field):
    config = _write_config(tmp_path)
    result = run_marlax("profile", "-c", str(config), *arguments, cwd=tmp_path)
    assert_refused(result, field)
    assert not (tmp_path / "runs").exists()
