"""PPO with an assignment over each agent's k nearest tasks (`"nearest"`, `"radius"`).

Checked: each agent's candidates are its k nearest targets within the radius (brute force
on a coverage state) with the offsets to them, padded agents get none; the trained policy
reads the same team inputs as training; a tiny coverage run trains with finite metrics;
`marlax train` turns bad settings into one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from marlax.algorithms.ppo.policy import TrainedPolicy
from marlax.algorithms.ppo.tasks import Task, TaskLayout
from marlax.algorithms.ppo.teams import team_inputs
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from marlax.envs.registry import make
from marlax.envs.wrappers.mean_field import MeanFieldEnv
from marlax.errors import ConfigError
from tests.cli_process import assert_refused, run_marlax

CONFIG = Path(__file__).resolve().parents[3] / "configs" / "coverage_ippo.json"
LOCAL = {
    "kind": "assignment",
    "embedding_dim": 8,
    "temperature": 0.1,
    "num_iterations": 10,
    "distance_weight": 1.0,
    "relative": True,
    "nearest": 4,
    "radius": 1.5,
}


def _coverage_config(coordination: dict, num_agents: int = 20, **params) -> dict:
    """coverage with N = M = num_agents, 1 env, 16-step rollouts, 2 updates."""
    return {
        "env": {
            "name": "coverage",
            "num_envs": 1,
            "params": {"num_agents": num_agents, "num_targets": num_agents, **params},
        },
        "model": {"name": "mlp", "core": {"hidden_sizes": [16]}, "coordination": coordination},
        "ppo": {"total_env_steps": 32, "rollout_length": 16, "num_epochs": 1, "num_minibatches": 2},
        "run": {"log_every": 2, "checkpoint_every": 2},
    }


def _brute_force(agents: np.ndarray, targets: np.ndarray, k: int, radius: float):
    """Each agent's k nearest targets within `radius` (-1 padded) and offsets, by sorting."""
    indices = np.full((len(agents), k), -1)
    offsets = np.zeros((len(agents), k, 2))
    for i, agent in enumerate(agents):
        distance = np.linalg.norm(targets - agent, axis=1)
        near = [j for j in np.argsort(distance, kind="stable") if distance[j] <= radius][:k]
        indices[i, : len(near)] = near
        offsets[i, : len(near)] = targets[near] - agent
    return indices, offsets


def test_candidates_are_the_nearest_targets_within_the_radius():
    """coverage (40 agents and targets, radius 1.0 holds ~3 targets: some agents fill all 4
    slots, some fewer) next to a 2-agent, 6-target env in one layout (its padded agents get
    no candidate, its padded tasks are never found)."""
    layout = TaskLayout(
        (
            Task("coverage", make("coverage", num_agents=40, num_targets=40), 2),
            Task("coverage", make("coverage", num_agents=2, num_targets=6, k_agents=1), 1),
        )
    )
    states = [
        jax.vmap(task.env.reset)(jax.random.split(jax.random.key(i), task.num_envs))[1]
        for i, task in enumerate(layout.tasks)
    ]
    team = jax.jit(
        lambda states: team_inputs(layout, states, True, None, True, task_neighbourhood=(4, 1.0))
    )(states)
    assert team.task_neighbours.shape == (3, 40, 4) and team.task_offsets.shape == (3, 40, 4, 2)
    for env_index in range(3):
        state = states[0] if env_index < 2 else states[1]
        row = env_index if env_index < 2 else 0
        agents = np.asarray(state.agent_pos[row], np.float64)
        targets = np.asarray(state.target_pos[row], np.float64)
        indices, offsets = _brute_force(agents, targets, 4, 1.0)
        found = np.asarray(team.task_neighbours[env_index, : len(agents)])
        np.testing.assert_array_equal(found, indices)
        np.testing.assert_allclose(team.task_offsets[env_index, : len(agents)], offsets, atol=1e-5)
    counts = (np.asarray(team.task_neighbours[:2]) >= 0).sum(axis=-1)
    assert counts.max() == 4 and counts.min() < 4
    np.testing.assert_array_equal(team.task_neighbours[2, 2:], -1)  # padded agents
    np.testing.assert_array_equal(team.task_offsets[2, 2:], 0.0)


def test_envs_without_task_positions_say_so():
    with pytest.raises(ConfigError, match="task positions"):
        make("simple_spread").task_positions(None)
    env = make("coverage", num_agents=6, num_targets=6)
    mean_field = MeanFieldEnv(env, radius=1.5)
    _, state = mean_field.reset(jax.random.key(0))
    np.testing.assert_array_equal(mean_field.task_positions(state), state.inner.target_pos)
    assert mean_field.max_tasks_in_square(1.0) == env.max_tasks_in_square(1.0)


def test_a_tiny_coverage_run_trains_and_the_policy_reads_what_training_read():
    trainer = Trainer(load_from_dict(_coverage_config(LOCAL)))
    assert trainer.networks.task_neighbourhood == (4, 1.5)
    state, metrics = trainer.update(trainer.init(jax.random.key(0)), 2)
    for name in ("loss/total", "loss/policy", "loss/value", "loss/entropy"):
        assert np.isfinite(np.asarray(metrics[name])).all(), name
    assert float(np.asarray(metrics["loss/entropy"]).min()) > 0.5  # near-uniform, not NaN
    (task,) = trainer.layout.tasks
    _, env_state = task.vector_env.reset(jax.random.key(1))
    trained = TrainedPolicy(None, trainer.networks, trainer.layout, 0)
    played = trained._team(env_state)
    seen = team_inputs(trainer.layout, [env_state], True, None, True, (4, 1.5))
    for a, b in zip(jax.tree.leaves(played), jax.tree.leaves(seen), strict=True):
        np.testing.assert_array_equal(a, b)
    assert played.task_offsets.shape == (1, 20, 4, 2)


def test_bad_settings_name_their_field():
    with pytest.raises(ConfigError, match=r"model\.coordination\.nearest.*at most.*6") as error:
        load_from_dict(_coverage_config({**LOCAL, "nearest": 7}, num_agents=6))
    assert "\n" not in str(error.value)
    simple_spread = {
        "env": {"name": "simple_spread", "num_envs": 4},
        "model": {"name": "mlp", "coordination": {**LOCAL, "nearest": 2, "relative": False}},
        "ppo": {"total_env_steps": 1024, "rollout_length": 8, "num_minibatches": 1},
    }
    simple_spread["model"]["coordination"]["distance_weight"] = 0.0
    with pytest.raises(ConfigError, match=r"envs\.0\.name.*task and agent positions.*nearest"):
        load_from_dict(simple_spread)


@pytest.mark.parametrize(
    ("setting", "field"),
    [
        ('{"kind": "assignment", "nearest": 0, "radius": 3.0}', "model.coordination.nearest"),
        ('{"kind": "assignment", "nearest": 4, "radius": 0}', "model.coordination.radius"),
        ('{"kind": "assignment", "nearest": 4}', "model.coordination.radius"),
        ('{"kind": "assignment", "nearest": 11, "radius": 3.0}', "model.coordination.nearest"),
    ],
)
def test_marlax_train_exits_2_with_one_line(tmp_path, setting, field):
    """configs/coverage_ippo.json has 10 targets: nearest 11 is one too many."""
    coordination = f"model.coordination={setting}"
    result = run_marlax("train", "--config", str(CONFIG), "--set", coordination, cwd=tmp_path)
    assert_refused(result, field)
    assert not (tmp_path / "runs").exists()
