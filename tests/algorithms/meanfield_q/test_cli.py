"""`marlax meanfield run|load` end to end on a small config (typer's test runner)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from marlax.algorithms.meanfield_q import load_q
from marlax.cli.meanfield import register

from .helpers import small_config_dict


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test root."""

    register(app)
    return app


def test_run_writes_plot_results_and_loadable_tables(tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps(small_config_dict()))
    out = tmp_path / "out"
    runner = CliRunner()
    arguments = ["meanfield", "run", str(config), "--k", "2", "3", "--seed", "5"]
    result = runner.invoke(_app(), [*arguments, "--out", str(out), "--semantics", "reference"])
    assert result.exit_code == 0, result.output
    assert {"cumulative_rewards.png", "results.json", "q_k2.npz", "q_k3.npz"} <= {
        path.name for path in out.iterdir()
    }
    payload = json.loads((out / "results.json").read_text())
    assert payload["ks"] == [2, 3] and payload["semantics"] == "reference"
    assert [record["num_states"] for record in payload["results"]] == [30, 50]
    assert f"{load_q(out / 'q_k3.npz').q.max():.4f}" == f"{payload['results'][1]['max_q']:.4f}"
    assert "k=  3" in result.output and "± " in result.output
    loaded = runner.invoke(
        _app(),
        ["meanfield", "load", str(out / "q_k2.npz"), "--global-state", "0", "--counts", "1,1,0"],
    )
    assert loaded.exit_code == 0, loaded.output
    assert "semantics=reference k=2 states=30" in loaded.output
    assert "global_action" in loaded.output
