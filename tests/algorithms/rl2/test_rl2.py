"""RL²: the config (one ConfigError line per mistake, exit 2 from `marlax train`), trials
played with memory kept across inner episodes, and a run trained, resumed exactly and loaded
back as a policy on its TrialEnv."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import struct

from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.rl2.loop import train_run
from marlax.algorithms.rl2.trials import held_out_tasks, trial_episode_returns
from marlax.algorithms.trained import load_run_policy
from marlax.config import load_from_dict
from marlax.envs.registry import make
from marlax.envs.wrappers import TrialEnv
from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer
from tests.cli_process import assert_refused, run_marlax

TINY = {
    "algorithm": "rl2",
    "env": {
        "name": "bandit_k",
        "num_envs": 4,
        "params": {"num_arms": 3, "max_steps": 3},
        "episodes_per_trial": 2,
    },
    "model": {"name": "gru", "core": {"hidden_size": 8}},
    "ppo": {"total_env_steps": 4 * 6 * 4, "rollout_length": 6, "num_minibatches": 2},
    "run": {"log_every": 1, "checkpoint_every": 2},
}


def _with(**changes: dict) -> dict:
    raw = json.loads(json.dumps(TINY))
    for section, values in changes.items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    return raw


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (_with(model={"name": "mlp", "core": {}}), "model.name"),
        (_with(env={"name": "simple_spread", "params": {}}), "envs.0.name"),
        (_with(env={"episodes_per_trial": 0}), "envs.0.episodes_per_trial"),
        (_with(env={"episodes_per_trial": None}), "envs.0.episodes_per_trial"),
        (_with(algorithm="ppo"), "envs.0.episodes_per_trial"),
        (_with(ppo={"num_minibatches": 5}), "ppo.num_minibatches"),
    ],
)
def test_config_mistakes_name_their_field(raw: dict, field: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_from_dict(raw)
    assert error.value.field == field


def test_the_config_makes_the_trial_env() -> None:
    config = load_from_dict(TINY)
    env = config.envs[0].make_env()
    assert env == TrialEnv(make("bandit_k", num_arms=3, max_steps=3), episodes_per_trial=2)
    assert Trainer(config).layout.tasks[0].env == env


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ('model={"name": "mlp"}', "model.name"),
        ('env={"name": "simple_spread", "episodes_per_trial": 2}', "envs.0.name"),
    ],
)
def test_marlax_train_refuses_a_bad_rl2_config_in_one_line(tmp_path, setting, field) -> None:
    path = tmp_path / "rl2.json"
    path.write_text(json.dumps(TINY))
    result = run_marlax("train", "-c", str(path), "--set", setting, cwd=tmp_path)
    assert_refused(result, field)
    assert not (tmp_path / "runs").exists()


@struct.dataclass
class CountingPolicy:
    """Pulls arm 0 for the first `pulls` steps after a memory reset, then arm 1."""

    pulls: int = struct.field(pytree_node=False)

    def initial_memory(self) -> jax.Array:
        return jnp.zeros((), jnp.int32)

    def act(self, key, obs, state, memory, reset):
        del key, obs, state
        memory = jnp.where(reset, 0, memory) + 1
        return jnp.where(memory <= self.pulls, 0, 1)[None].astype(jnp.int32), memory


def test_trials_keep_memory_across_inner_episodes_by_hand() -> None:
    env = TrialEnv(make("bandit_k", num_arms=3, max_steps=4), episodes_per_trial=3)
    tasks = jnp.asarray([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    returns = jax.jit(trial_episode_returns, static_argnames="env")(
        jax.random.key(0), env=env, policy=CountingPolicy(pulls=4), tasks=tasks
    )
    # memory cleared once per trial: arm 0 (pays on both tasks) only in the first episode
    np.testing.assert_allclose(returns, [[4.0, 0.0, 0.0], [4.0, 4.0, 4.0]])
    assert held_out_tasks(jax.random.key(1), env, 5).shape == (5, 3)


def _params(runs_dir: Path, name: str) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree.leaves(load_run_policy(runs_dir, name).policy)]


@pytest.mark.slow  # three tiny GRU trainings: ~80 s on a busy 2-core host
def test_a_run_trains_resumes_exactly_and_plays_trials(tmp_path) -> None:
    raw = _with(run={"runs_dir": str(tmp_path), "name": "straight"})
    config = load_from_dict(raw)
    train_run(create_run(config), config)
    # the same run again, its last checkpoint lost: it resumes from update 2 of 4
    resumed = load_from_dict(_with(run={"runs_dir": str(tmp_path), "name": "resumed"}))
    folder = create_run(resumed)
    train_run(folder, resumed)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        assert checkpointer.latest_step() == 4
    shutil.rmtree(folder.checkpoint_dir / "4")
    train_run(open_run(tmp_path, "resumed")[0], resumed)
    for a, b in zip(_params(tmp_path, "straight"), _params(tmp_path, "resumed"), strict=True):
        np.testing.assert_array_equal(a, b)
    run_policy = load_run_policy(tmp_path, "straight", env_overrides={"episodes_per_trial": 3})
    assert run_policy.algorithm == "rl2" and run_policy.env.episodes_per_trial == 3
    tasks = held_out_tasks(jax.random.key(2), run_policy.env, 4)
    returns = trial_episode_returns(jax.random.key(3), run_policy.env, run_policy.policy, tasks)
    assert returns.shape == (4, 3)
    assert np.all((np.asarray(returns) >= 0) & (np.asarray(returns) <= 3))  # 3 pulls of 0/1
