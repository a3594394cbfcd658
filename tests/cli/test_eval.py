"""`marlax eval`: eval.json content, checkpoints, variants, comparisons, and bad input."""

from __future__ import annotations

import json
import shutil
import sys

import jax
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from marlax.cli.eval import register
from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from tests.play.tiny_runs import SPREAD_MLP, head_params, save_run

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [
    pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning"),
    pytest.mark.xdist_group("cli.test_eval"),
]

EPISODES = 8
STILL = np.array([10.0, 0, 0, 0, 0], np.float32)  # simple_spread action 0: no move
FIRST, COPY = "spread-a", "spread-b"


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """marlax (test app)."""

    register(app)
    return app


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """A simple_spread MLP run of 2 seeds with checkpoints 1 (fresh) and 2 (agents stand
    still), and COPY, a copy of it under another name."""
    path = tmp_path_factory.mktemp("runs")
    trainer = save_run(path, FIRST, {**SPREAD_MLP, "run": {"num_seeds": 2}})
    state = jax.device_get(trainer.init(jax.random.key(0)))
    still = [head_params(_seed(state.params, index), bias=STILL) for index in (0, 1)]
    state = state.replace(params=jax.tree.map(lambda *leaves: np.stack(leaves), *still))
    with Checkpointer(RunFolder.open(path, FIRST).checkpoint_dir) as checkpointer:
        checkpointer.save(2, state, {"env_steps": 64, "update": 2})
    shutil.copytree(path / FIRST, path / COPY)
    return path


def _seed(params, index):
    """One seed's parameters (the leading axis is the seed)."""
    return jax.tree.map(lambda leaf: leaf[index], params)


def _eval(runs_dir, *args):
    arguments = ["eval", *args, "--episodes", str(EPISODES), "--runs-dir", str(runs_dir)]
    return CliRunner().invoke(_app(), arguments)


def _evaluated(runs_dir, name) -> bytes:
    """The bytes of `name`'s eval.json, evaluating it first if it has none."""
    if not (runs_dir / name / "eval.json").is_file():
        assert _eval(runs_dir, name).exit_code == 0
    return (runs_dir / name / "eval.json").read_bytes()


def _read(runs_dir, name) -> dict:
    return json.loads((runs_dir / name / "eval.json").read_text())


def test_eval_writes_settings_episodes_and_summary(runs_dir):
    result = _eval(runs_dir, FIRST, "--checkpoint", "1", "--seed", "3")
    assert result.exit_code == 0, result.output
    written = _read(runs_dir, FIRST)
    assert written["checkpoint"] == 1 and written["algorithm"] == "ppo"
    assert written["task"] == "simple_spread"
    settings = written["settings"]
    assert settings == {
        "episodes": EPISODES,
        "sample": False,
        "seed": 3,
        "checkpoint": 1,
        "env_overrides": {},
        "selector": None,
        "seed_indices": [0],
    }
    (seed,) = written["seeds"]
    episodes = seed["episodes"]
    assert len(episodes["team_return"]) == EPISODES and episodes["won"] is None
    agent_returns = np.asarray(episodes["agent_returns"])
    assert agent_returns.shape == (EPISODES, 3)
    np.testing.assert_allclose(episodes["team_return"], agent_returns.mean(axis=1))
    assert episodes["length"] == [25] * EPISODES  # simple_spread ends by its time limit
    summary = written["summary"]
    assert summary["episodes"] == EPISODES and summary["win_rate"] is None
    assert summary["team_return"]["mean"] == pytest.approx(np.mean(episodes["team_return"]))
    low, high = summary["team_return"]["ci95"]
    assert low <= summary["team_return"]["mean"] <= high
    assert summary["length"] == {"mean": 25.0, "ci95": [25.0, 25.0]}
    assert "team return = mean over agents" in result.output and "n/a" in result.output


def test_latest_checkpoint_by_default_and_the_step_changes_the_policy(runs_dir):
    assert _eval(runs_dir, FIRST, "--checkpoint", "1").exit_code == 0
    fresh = _read(runs_dir, FIRST)
    assert _eval(runs_dir, FIRST).exit_code == 0
    latest = _read(runs_dir, FIRST)
    assert (fresh["checkpoint"], latest["checkpoint"]) == (1, 2)
    assert latest["settings"]["checkpoint"] is None
    assert fresh["seeds"][0]["episodes"] != latest["seeds"][0]["episodes"]


def test_same_seed_same_episodes(runs_dir):
    assert _eval(runs_dir, COPY, "--sample").exit_code == 0
    first = _read(runs_dir, COPY)
    assert _eval(runs_dir, COPY, "--sample").exit_code == 0
    assert _read(runs_dir, COPY)["seeds"] == first["seeds"]
    assert first["settings"]["sample"] is True


def test_env_variant_is_recorded_and_played(runs_dir):
    result = _eval(runs_dir, COPY, "--env-set", "max_steps=5", "--env-set", "local_ratio=0.25")
    assert result.exit_code == 0, result.output
    written = _read(runs_dir, COPY)
    assert written["settings"]["env_overrides"] == {"max_steps": 5, "local_ratio": 0.25}
    assert written["seeds"][0]["episodes"]["length"] == [5] * EPISODES


def test_two_runs_are_compared_over_episodes_and_groups_over_runs(runs_dir):
    result = _eval(runs_dir, FIRST, COPY, "--checkpoint", "1")
    assert result.exit_code == 0, result.output
    assert "across episodes" in result.output
    # the same policy on the same episode keys: every episode has its twin, P is exactly 1/2
    assert f"{FIRST} > {COPY}  0.500 [" in result.output
    grouped = _eval(runs_dir, "--all-seeds", "--group", f"a={FIRST}", "--group", f"b={COPY}")
    assert grouped.exit_code == 0, grouped.output
    assert "across runs" in grouped.output and "(2 runs)" in grouped.output  # 2 seeds each
    assert "a > b  0.500 [" in grouped.output


def test_all_seeds(runs_dir):
    result = _eval(runs_dir, COPY, "--all-seeds")
    assert result.exit_code == 0, result.output
    written = _read(runs_dir, COPY)
    assert [seed["seed_index"] for seed in written["seeds"]] == [0, 1]
    assert written["settings"]["seed_indices"] is None
    assert written["summary"]["episodes"] == 2 * EPISODES
    assert f"{COPY}/1" in result.output  # the two seeds compared with each other


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--episodes", "0"], "episodes"),
        (["no-such-run"], "run"),
        (["--env-set", "view_size=7"], "env_set.view_size"),
        (["--env-set", "num_agents=4", "--env-set", "max_steps=9"], "env_set.num_agents"),
        (["--env-set", "continuous_actions=true"], "env_set.continuous_actions"),
        (["--checkpoint", "7"], "checkpoint"),
        (["--seed-index", "2"], "seed_index"),
        (["--group", f"a={FIRST}"], "group"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(runs_dir, monkeypatch, capsys, args, field):
    from marlax.cli.app import main

    before = _evaluated(runs_dir, FIRST)
    run = [] if args == ["no-such-run"] else [FIRST]
    argv = ["marlax", "eval", *run, *args, "--runs-dir", str(runs_dir)]
    if args[0] != "--episodes":
        argv += ["--episodes", "2"]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    stderr = capsys.readouterr().err
    assert stderr.count("\n") == 1 and stderr.startswith(f"error: {field}=")
    assert "Traceback" not in stderr
    assert (runs_dir / FIRST / "eval.json").read_bytes() == before  # untouched


def test_a_failing_run_leaves_earlier_runs_eval_json_alone(runs_dir):
    before = _evaluated(runs_dir, FIRST)
    result = _eval(runs_dir, FIRST, "no-such-run")
    assert isinstance(result.exception, ConfigError) and result.exception.field == "run"
    assert (runs_dir / FIRST / "eval.json").read_bytes() == before


def test_a_learner_without_a_policy_loader_is_a_config_error(runs_dir, monkeypatch):
    import marlax.algorithms.trained as trained

    monkeypatch.setattr(trained, "POLICY_LOADERS", {"iql": trained.load_ppo_policies})
    result = _eval(runs_dir, FIRST)
    assert isinstance(result.exception, ConfigError) and result.exception.field == "algorithm"
    assert "iql" in str(result.exception)
