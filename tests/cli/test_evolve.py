"""`marlax evolve`: bad configs are one line and exit 2; a tiny real search runs end to end and
resumes without retraining."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from marlax.cli import evolve as evolve_cli
from marlax.errors import ConfigError
from marlax.evolution.load import load_search
from marlax.evolution.search import CANDIDATES_FILE, PLOT_FILE, REPORT_FILE
from marlax.runs.folder import RunFolder
from tests.cli_process import assert_refused, run_marlax

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "configs" / "arrangement_search_nback.json"

TINY_SEARCH = {
    "base": {
        "env": {"name": "nback", "num_envs": 8, "params": {"max_n": 2, "max_steps": 8}},
        "model": {"name": "mlp", "core": {"hidden_sizes": [8]}},
        "ppo": {"total_env_steps": 128, "rollout_length": 8, "num_minibatches": 2},
        "run": {"log_every": 1, "checkpoint_every": 1},
    },
    "genes": {"width": [8, 16]},
    "search": {"population_size": 2, "generations": 2, "score_updates": 2},
}
"""2 candidates x 2 generations of 2-update MLP runs on 8-step n-back: two arrangements."""


def _app() -> typer.Typer:
    app = typer.Typer()
    evolve_cli.register(app)
    app.command("noop")(lambda: None)  # a second command keeps `evolve` a subcommand
    return app


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "search.json"
    path.write_text(json.dumps(raw))
    return path


def test_bad_config_is_one_line_and_exit_code_2(tmp_path):
    config = _write(tmp_path, TINY_SEARCH)
    setting = "genes.width=[8, 0]"
    result = run_marlax("evolve", "-c", str(config), "--set", setting, cwd=tmp_path, timeout=300)
    assert_refused(result, "genes.width=0")
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("setting", "field"),
    [("search.elites=2", "search.elites"), ('genes.core=["lstm"]', "genes.core")],
)
def test_bad_settings_raise_a_config_error_naming_them_before_any_folder(tmp_path, setting, field):
    config = _write(tmp_path, TINY_SEARCH)
    runs_dir = tmp_path / "runs"
    arguments = ["evolve", "-c", str(config), "--set", setting, "--runs-dir", str(runs_dir)]
    result = CliRunner().invoke(_app(), arguments)
    assert isinstance(result.exception, ConfigError) and result.exception.field == field
    assert not runs_dir.exists()


def test_resume_refuses_a_config_and_a_training_run(tmp_path):
    runner = CliRunner()
    config = _write(tmp_path, TINY_SEARCH)
    both = runner.invoke(_app(), ["evolve", "--resume", "x", "-c", str(config)])
    assert isinstance(both.exception, ConfigError) and both.exception.field == "--resume"
    RunFolder.create(tmp_path / "runs", "plain-run", {"algorithm": "ppo"})
    arguments = ["evolve", "--resume", "plain-run", "--runs-dir", str(tmp_path / "runs")]
    training = runner.invoke(_app(), arguments)
    assert isinstance(training.exception, ConfigError) and training.exception.field == "run"
    missing = runner.invoke(_app(), ["evolve"])
    assert isinstance(missing.exception, ConfigError) and missing.exception.field == "--config"


def test_the_shipped_search_is_cpu_sized():
    spec = load_search(SHIPPED)
    assert (spec.settings.population_size, spec.settings.generations) == (8, 4)
    assert spec.base["envs"][0]["name"] == "nback"
    assert [gene.name for gene in spec.genes][:3] == ["core", "width", "depth"]
    assert set(spec.genes[0].choices) == {"mlp", "gru", "transformer", "ssm"}


@pytest.mark.slow  # two MLP compilations: ~25 s on a quiet 2-core machine, minutes on a busy one
def test_a_tiny_real_search_runs_end_to_end_and_resumes_without_training(tmp_path):
    runs_dir = tmp_path / "runs"
    config = _write(tmp_path, TINY_SEARCH)
    arguments = ["evolve", "-c", str(config), "--runs-dir", str(runs_dir), "--set", "search.name=s"]
    result = CliRunner().invoke(_app(), arguments)
    assert result.exit_code == 0, result.output
    assert "best of generation" in result.output and "2 candidates trained now" in result.output
    folder = runs_dir / "s"
    records = json.loads((folder / CANDIDATES_FILE).read_text())["candidates"]
    assert len(records) == 4 and sum(record["trained"] for record in records) == 2
    for record in records:
        # n-back pays 1 per right answer: an 8-step episode returns 0..8
        assert 0.0 <= record["score"] <= 8.0
        assert record["env_steps"] == 128
    report = json.loads((folder / REPORT_FILE).read_text())
    assert report["best"]["score"] == max(record["score"] for record in records)
    assert (folder / PLOT_FILE).is_file()

    again = CliRunner().invoke(_app(), ["evolve", "--resume", "s", "--runs-dir", str(runs_dir)])
    assert again.exit_code == 0, again.output
    assert "0 candidates trained now" in again.output
    assert json.loads((folder / CANDIDATES_FILE).read_text())["candidates"] == records
