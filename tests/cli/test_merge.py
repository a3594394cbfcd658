"""`marlax merge`: the merged run holds the weighted average, plays like any run, and bad
input exits 2 without touching anything."""

from __future__ import annotations

import json
import sys

import jax
import numpy as np
import pytest

from marlax.algorithms.trained import load_run_policy, restore_ppo_run
from marlax.config import load_from_dict
from marlax.runs.folder import RunFolder
from tests.play.tiny_runs import SPREAD_MLP, save_run

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [
    pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning"),
    pytest.mark.xdist_group("cli.test_merge"),
]

WIDE = {**SPREAD_MLP, "model": {"name": "mlp", "core": {"hidden_sizes": [32]}}}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs")
    save_run(path, "a", SPREAD_MLP, bias=[0.0, 4.0, 0.0, 0.0, 0.0])
    save_run(path, "b", SPREAD_MLP, bias=[0.0, 0.0, 8.0, 0.0, 0.0])
    save_run(path, "wide", WIDE)
    return path


def _main(monkeypatch, runs_dir, *args):
    from marlax.cli.app import main

    monkeypatch.setattr(sys, "argv", ["marlax", "merge", *args, "--runs-dir", str(runs_dir)])
    try:
        main()
    except SystemExit as exited:
        return exited.code
    return 0


def _params(runs_dir, name):
    folder = RunFolder.open(runs_dir, name)
    trained = restore_ppo_run(folder, load_from_dict(folder.read_config()), None)
    return jax.tree.map(lambda leaf: np.asarray(leaf)[0], trained.state.params)


def test_the_merged_run_holds_the_weighted_average(runs_dir, monkeypatch):
    code = _main(
        monkeypatch, runs_dir, "a", "b", "--out", "ab", "--rule", "weighted", "--weights", "3,1"
    )
    assert code == 0
    a, b, merged = (_params(runs_dir, name) for name in ("a", "b", "ab"))
    expected = jax.tree.map(lambda x, y: 0.75 * x + 0.25 * y, a, b)
    jax.tree.map(
        lambda m, e: np.testing.assert_allclose(m, e, rtol=1e-6, atol=1e-7), merged, expected
    )
    written = json.loads((runs_dir / "ab" / "merge.json").read_text())
    assert written["members"] == ["a:0", "b:0"] and written["weights"] == [0.75, 0.25]
    assert RunFolder.open(runs_dir, "ab").read_status()["state"] == "finished"


def test_the_merged_run_plays_like_any_run(runs_dir, monkeypatch):
    assert _main(monkeypatch, runs_dir, "a", "a", "--out", "aa") == 0
    merged = load_run_policy(runs_dir, "aa")
    alone = load_run_policy(runs_dir, "a")
    assert merged.num_seeds == 1 and merged.update == alone.update
    obs = np.zeros((3, alone.env.observation_space.shape[0]), np.float32)
    _, state = alone.env.reset(jax.random.key(0))
    for policy in (merged.policy, alone.policy):
        actions, _ = policy.act(jax.random.key(0), obs, state, policy.initial_memory(), True)
        np.testing.assert_array_equal(actions, [1, 1, 1])  # bias 4 on action 1, zero kernel


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["a", "wide", "--out", "x1"], "merge"),
        (["a", "ghost", "--out", "x2"], "run"),
        (["a", "b:3", "--out", "x3"], "merge"),
        (["a", "b", "--out", "x4", "--weights", "1,2"], "weights"),
        (["a", "b", "--out", "x5", "--rule", "weighted", "--weights", "1"], "weights"),
        (["a", "b", "--out", "x6", "--rule", "median"], "rule"),
        (["a", "b", "--out", "Bad Name"], "run.name"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(runs_dir, monkeypatch, capsys, args, field):
    before = sorted(path.name for path in runs_dir.iterdir())
    assert _main(monkeypatch, runs_dir, *args) == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {field}=")
    assert sorted(path.name for path in runs_dir.iterdir()) == before


def test_an_existing_name_is_refused_and_kept(runs_dir, monkeypatch, capsys):
    config_before = (runs_dir / "a" / "config.json").read_bytes()
    assert _main(monkeypatch, runs_dir, "b", "b", "--out", "a") == 2
    assert "run.name" in capsys.readouterr().err
    assert (runs_dir / "a" / "config.json").read_bytes() == config_before
