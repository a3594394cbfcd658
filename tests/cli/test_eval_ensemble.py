"""`marlax eval --ensemble` and `marlax enjoy --ensemble` on saved simple_spread runs whose
actors always prefer one action (zero kernel, a fixed head bias)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from marlax.cli.enjoy import register as register_enjoy
from marlax.cli.eval import register as register_eval
from marlax.errors import ConfigError
from marlax.evaluation.ensemble import EnsembleRequest, load_ensemble
from tests.play.tiny_runs import SPREAD_MLP, TINY_GRID_GRU, save_run, tiny_grid_registered

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [
    pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning"),
    pytest.mark.xdist_group("cli.test_eval_ensemble"),
]

EPISODES = 4
BIASES = {
    "up": [0.0, 10.0, 0.0, 0.0, 0.0],  # always action 1
    "down": [0.0, 0.0, 10.0, 0.0, 0.0],  # always action 2
    "down-soft": [0.0, 1.0, 1.5, 0.0, 0.0],  # action 2 more likely than 1
}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """marlax (test app)."""

    register_eval(app)
    register_enjoy(app)
    return app


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs")
    for name, bias in BIASES.items():
        save_run(path, name, SPREAD_MLP, bias=bias)
    save_run(path, "broken", SPREAD_MLP, bias=[np.nan, 0.0, 0.0, 0.0, 0.0])
    with tiny_grid_registered():
        save_run(path, "grid", TINY_GRID_GRU)
    return path


def _eval(runs_dir, *args):
    arguments = ["eval", "--ensemble", *args, "--episodes", str(EPISODES)]
    return CliRunner().invoke(_app(), [*arguments, "--runs-dir", str(runs_dir)])


def _report(runs_dir, rule, members):
    return json.loads((runs_dir / "ensembles" / f"{rule}-{'+'.join(members)}.json").read_text())


def _member_returns(runs_dir, name):
    """The team returns of `name` alone on the same episodes (plain eval)."""
    result = CliRunner().invoke(
        _app(), ["eval", name, "--episodes", str(EPISODES), "--runs-dir", str(runs_dir)]
    )
    assert result.exit_code == 0, result.output
    written = json.loads((runs_dir / name / "eval.json").read_text())
    return written["seeds"][0]["episodes"]["team_return"]


def test_a_majority_vote_plays_the_majority_members_episodes(runs_dir):
    result = _eval(runs_dir, "up", "down", "down-soft", "--rule", "vote")
    assert result.exit_code == 0, result.output
    report = _report(runs_dir, "vote", ["up:0", "down:0", "down-soft:0"])
    assert report["ensemble"]["members_used"] == ["up:0", "down:0", "down-soft:0"]
    np.testing.assert_allclose(report["ensemble"]["weights"], [1 / 3] * 3)
    # two of three vote "action 2" at every step: the ensemble is the "down" policy
    ensemble_returns = report["seeds"][0]["episodes"]["team_return"]
    np.testing.assert_allclose(ensemble_returns, _member_returns(runs_dir, "down"))
    assert "P(" in result.output  # the ensemble compared with each member


def test_weights_can_turn_the_vote(runs_dir):
    result = _eval(runs_dir, "up", "down", "down-soft", "--rule", "vote", "--weights", "3,1,1")
    assert result.exit_code == 0, result.output
    report = _report(runs_dir, "vote", ["up:0", "down:0", "down-soft:0"])
    ensemble_returns = report["seeds"][0]["episodes"]["team_return"]
    np.testing.assert_allclose(ensemble_returns, _member_returns(runs_dir, "up"))


def test_bma_weights_are_the_posterior_of_the_validation_returns(runs_dir):
    result = _eval(runs_dir, "up", "down", "--rule", "bma", "--temperature", "0.5")
    assert result.exit_code == 0, result.output
    made = _report(runs_dir, "bma", ["up:0", "down:0"])["ensemble"]
    returns = np.asarray(made["validation_returns"])
    expected = np.exp((returns - returns.max()) / 0.5)
    np.testing.assert_allclose(made["weights"], expected / expected.sum(), rtol=1e-5)
    assert np.argmax(made["weights"]) == np.argmax(returns)


def test_members_that_fail_to_load_are_dropped_and_reported(runs_dir):
    result = _eval(runs_dir, "up", "ghost", "broken", "down", "--rule", "soft_vote")
    assert result.exit_code == 0, result.output
    made = _report(runs_dir, "soft_vote", ["up:0", "down:0"])["ensemble"]
    assert sorted(made["dropped"]) == ["broken:0", "ghost:0"]
    assert "not all finite" in made["dropped"]["broken:0"]
    assert "dropped ghost:0" in result.output


def test_the_given_weights_of_the_members_left_are_renormalised(runs_dir):
    request = EnsembleRequest(rule="weighted", weights=(1.0, 5.0, 3.0))
    loaded = load_ensemble(runs_dir, ["up", "ghost", "down"], request)
    assert loaded.members_used == ("up:0", "down:0")
    np.testing.assert_allclose(loaded.weights, [0.25, 0.75])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["ghost", "phantom"], "ensemble"),
        (["up", "grid"], "ensemble"),
        (["up", "down", "--rule", "median"], "rule"),
        (["up", "down", "--rule", "vote", "--weights", "1,2,3"], "weights"),
        (["up", "down", "--rule", "bma", "--weights", "1,2"], "weights"),
        (["up", "down", "--rule", "bma", "--temperature", "0"], "temperature"),
        (["up:x", "down"], "ensemble"),
    ],
)
def test_bad_ensembles_exit_2_with_one_line(runs_dir, monkeypatch, capsys, args, field):
    from marlax.cli.app import main

    argv = ["marlax", "eval", "--ensemble", *args, "--episodes", "2"]
    monkeypatch.setattr(sys, "argv", [*argv, "--runs-dir", str(runs_dir)])
    with tiny_grid_registered(), pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {field}=")


def test_enjoy_plays_an_ensemble(runs_dir, tmp_path):
    video = tmp_path / "team.gif"
    arguments = ["enjoy", "--ensemble", "up", "down", "down-soft", "--rule", "vote"]
    result = CliRunner().invoke(
        _app(), [*arguments, "--video-path", str(video), "--runs-dir", str(runs_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "ensemble vote of up:0" in result.output and video.is_file()


def test_enjoy_without_ensemble_takes_one_run(runs_dir):
    result = CliRunner().invoke(_app(), ["enjoy", "up", "down", "--runs-dir", str(runs_dir)])
    assert isinstance(result.exception, ConfigError) and result.exception.field == "run"
