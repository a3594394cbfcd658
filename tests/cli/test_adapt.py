"""`marlax adapt`: MAML's inner-step curve and RL²'s in-context curve on held-out tasks."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from marlax.algorithms.common.run_folders import create_run
from marlax.algorithms.maml.adaptation import batched_adaptation_returns
from marlax.algorithms.maml.policy import load_maml_run
from marlax.algorithms.maml.trainer import MAMLTrainer
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.cli.adapt import register
from marlax.config import load_from_dict
from marlax.errors import ConfigError
from marlax.evaluation.adapt_run import AdaptRequest, adapt_run
from marlax.runs.checkpoint import Checkpointer
from tests.play.tiny_runs import SPREAD_MLP, save_run

# One xdist worker runs this module, so its module fixture is built once (--dist loadgroup).
pytestmark = [
    pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning"),
    pytest.mark.xdist_group("cli.test_adapt"),
]

RUN = {"log_every": 1, "checkpoint_every": 1}
MAML = {
    "algorithm": "maml",
    "env": {"name": "navigation_2d", "num_envs": 4, "params": {"max_steps": 6}},
    "model": {"name": "mlp", "encoder": {"hidden_sizes": []}, "core": {"hidden_sizes": [8]}},
    "maml": {"meta_batch_size": 2, "num_updates": 1},
}
RL2 = {
    "algorithm": "rl2",
    "env": {
        "name": "bandit_k",
        "num_envs": 2,
        "params": {"num_arms": 3, "max_steps": 4},
        "episodes_per_trial": 2,
    },
    "model": {"name": "gru", "core": {"hidden_size": 8}},
    "ppo": {"total_env_steps": 16, "rollout_length": 8, "num_epochs": 1, "num_minibatches": 1},
}


VARIBAD = {
    "algorithm": "varibad",
    "env": {"name": "navigation_2d", "num_envs": 2, "params": {"max_steps": 5}},
    "model": {"name": "mlp", "core": {"hidden_sizes": [8]}},
    "ppo": {"total_env_steps": 20, "num_epochs": 1, "num_minibatches": 1},
    "varibad": {"episodes_per_trial": 2, "latent_dim": 2},
}


TTT = {
    **SPREAD_MLP,
    "model": {
        "name": "mlp",
        "core": {"hidden_sizes": [8]},
        "encoder": {"hidden_sizes": [8], "layer_norm": True},
        "next_obs_head": True,
    },
}
"""simple_spread (not a task family) with the self-supervised head: test-time training."""


def _save_fresh_run(runs_dir, name: str, raw: dict, trainer_class: type) -> None:
    """A run folder whose one checkpoint is the initial state (no training: cheap)."""
    config = load_from_dict({**raw, "run": {**RUN, "name": name, "runs_dir": str(runs_dir)}})
    trainer = trainer_class(config)
    state = jax.device_get(trainer.init(jax.random.key(0)))
    with Checkpointer(create_run(config).checkpoint_dir) as checkpointer:
        checkpointer.save(1, state, {"env_steps": trainer.env_steps_per_update, "update": 1})


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    """MAML, VariBAD, RL² and PPO runs, each with a checkpoint of its initial state."""
    path = tmp_path_factory.mktemp("runs")
    _save_fresh_run(path, "maml-run", MAML, MAMLTrainer)
    _save_fresh_run(path, "varibad-run", VARIBAD, VariBADTrainer)
    save_run(path, "rl2-run", RL2)  # PPO's Trainer on the trial env that make_env builds
    save_run(path, "ppo-run", SPREAD_MLP)
    save_run(path, "ttt-run", TTT)
    return path


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """marlax (test app)."""

    register(app)
    return app


def _adapt(runs_dir, *args):
    return CliRunner().invoke(_app(), ["adapt", *args, "--runs-dir", str(runs_dir)])


def test_maml_curve_is_the_inner_steps_on_tasks_drawn_from_the_task_seed(runs_dir):
    request = AdaptRequest(task_seed=3, tasks=4, steps=2, episode_seed=5)
    curve = adapt_run(runs_dir, "maml-run", request)
    assert curve.returns.shape == (3, 4) and curve.step_label == "inner step"
    trained = load_maml_run(runs_dir, "maml-run")
    tasks = jax.vmap(trained.env.sample_task)(jax.random.split(jax.random.key(3), 4))
    direct = batched_adaptation_returns(
        jax.random.key(5), trained.actor_params(0), trained.inner, tasks, 2
    )
    np.testing.assert_allclose(curve.returns, np.asarray(direct).T, rtol=1e-6)
    again = adapt_run(runs_dir, "maml-run", request)
    np.testing.assert_array_equal(curve.returns, again.returns)


def test_rl2_curve_has_one_point_per_episode_of_the_trial(runs_dir):
    trained = adapt_run(runs_dir, "rl2-run", AdaptRequest(tasks=5))
    assert trained.returns.shape == (2, 5)  # episodes_per_trial = 2 as trained
    longer = adapt_run(runs_dir, "rl2-run", AdaptRequest(tasks=5, steps=3))
    assert longer.returns.shape == (4, 5)
    # a bandit episode of 4 pulls pays 0..4
    assert np.all((longer.returns >= 0) & (longer.returns <= 4))
    assert "in context" in longer.method


def test_varibad_adapts_in_context_on_a_shifted_family(runs_dir):
    request = AdaptRequest(tasks=3, steps=2, env_overrides={"goal_range": 1.0})
    curve = adapt_run(runs_dir, "varibad-run", request)
    assert curve.returns.shape == (3, 3) and "belief" in curve.method
    # 5 steps of at most 0.1 from the origin, goals within 1.0 (per axis) of it: a bounded loss
    assert np.all((curve.returns <= 0) & (curve.returns > -5 * (2**0.5 + 0.5)))


def test_cli_writes_adapt_json_and_png_with_the_shift(runs_dir):
    result = _adapt(
        runs_dir, "maml-run", "--tasks", "3", "--steps", "1", "--env-set", "goal_range=1.0"
    )
    assert result.exit_code == 0, result.output
    written = json.loads((runs_dir / "maml-run" / "adapt.json").read_text())
    assert written["env_overrides"] == {"goal_range": 1.0} and written["tasks"] == 3
    assert [step["step"] for step in written["steps"]] == [0, 1]
    assert (runs_dir / "maml-run" / "adapt.png").read_bytes()[:4] == b"\x89PNG"
    assert "change from step 0" in result.output


def test_ppo_run_with_a_head_adapts_by_test_time_training(runs_dir):
    result = _adapt(
        runs_dir, "ttt-run", "--tasks", "2", "--steps", "2", "--episodes", "2", "--lr", "0.01"
    )
    assert result.exit_code == 0, result.output
    written = json.loads((runs_dir / "ttt-run" / "adapt.json").read_text())
    assert written["method"].startswith("ppo: test-time training")
    # 3 points x 2 independent adaptations to simple_spread itself, and the error at each
    assert np.asarray(written["returns"]).shape == (3, 2)
    losses = np.asarray(written["self_supervised_loss"])
    assert losses.shape == (3, 2) and np.all(losses > 0)
    assert "self-supervised loss" in result.output


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["ppo-run"], "run"),
        (["maml-run", "--tasks", "0"], "tasks"),
        (["ttt-run", "--lr", "0"], "learning_rate"),
        (["ttt-run", "--episodes", "0"], "episodes"),
        (["maml-run", "--env-set", "reveal_task=true"], "env_set.reveal_task"),
        (["no-such-run"], "run"),
    ],
)
def test_bad_input_is_a_config_error_naming_the_field(runs_dir, args, field):
    result = _adapt(runs_dir, *args)
    assert isinstance(result.exception, ConfigError), result.output
    assert result.exception.field == field
