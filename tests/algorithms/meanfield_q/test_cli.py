"""`marlax meanfield run|load` end to end on a small config (typer's test runner)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from marlax.algorithms.meanfield_q import load_q
from marlax.cli.meanfield import register
from marlax.runs.folder import RunFolder
from marlax.runs.listing import list_runs, remove_runs

from .helpers import small_config_dict


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def test_run_writes_plot_results_and_loadable_tables_into_a_run_folder(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_dict()))
    runs_dir = tmp_path / "runs"
    runner = CliRunner()
    arguments = ["meanfield", "run", str(config), "--k", "2", "3", "--seed", "5"]
    arguments += ["--runs-dir", str(runs_dir), "--name", "mf-01", "--semantics", "reference"]
    result = runner.invoke(_app(), arguments)
    assert result.exit_code == 0, result.output
    out = runs_dir / "mf-01"
    assert {"cumulative_rewards.png", "results.json", "q_k2.npz", "q_k3.npz"} <= {
        path.name for path in out.iterdir()
    }
    assert not [path.name for path in out.iterdir() if "partial" in path.name]
    payload = json.loads((out / "results.json").read_text())
    assert payload["ks"] == [2, 3] and payload["semantics"] == "reference"
    assert [record["num_states"] for record in payload["results"]] == [30, 50]
    assert f"{load_q(out / 'q_k3.npz').q.max():.4f}" == f"{payload['results'][1]['max_q']:.4f}"
    assert "k=  3" in result.output and "± " in result.output
    saved = RunFolder.open(runs_dir, "mf-01").read_config()
    assert saved["config"] == small_config_dict() and saved["ks"] == [2, 3]
    status = RunFolder(out).read_status()
    assert (status["state"], status["learner"]) == ("finished", "meanfield_q")
    best = max(record["mean_return"] for record in payload["results"])
    assert status["best_return"] == pytest.approx(best)
    loaded = runner.invoke(
        _app(),
        ["meanfield", "load", str(out / "q_k2.npz"), "--global-state", "0", "--counts", "1,1,0"],
    )
    assert loaded.exit_code == 0, loaded.output
    assert "semantics=reference k=2 states=30" in loaded.output
    assert "global_action" in loaded.output


def test_a_meanfield_run_gets_a_fresh_name_is_listed_and_removed_like_any_run(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_dict()))
    runs_dir = tmp_path / "runs"
    arguments = ["meanfield", "run", str(config), "--k", "2", "--runs-dir", str(runs_dir)]
    result = CliRunner().invoke(_app(), arguments)
    assert result.exit_code == 0, result.output
    (summary,) = list_runs(runs_dir)
    adjective, animal, number = summary.name.split("-")
    assert adjective.isalpha() and animal.isalpha() and number.isdigit()
    assert (summary.state, summary.learner) == ("finished", "meanfield_q")
    assert remove_runs(runs_dir, [summary.name]) == [summary.name]
    assert list_runs(runs_dir) == []
