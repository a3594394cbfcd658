"""Every shipped config in `configs/` loads, builds its learner's trainer and runs one finite
update (PPO, or IQL/VDN/QMIX for configs whose `algorithm` says so).

Each config is shrunk to the smallest shapes (2 envs per task, 4-step rollouts, one epoch and
one minibatch; for Q-learners 4-step chunks, a batch of 2 and learning from the first update)
so the test costs one compile per config; the hyperparameters under test are the shipped
model, env settings and learner options, which keep their values.
"""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from marlax.algorithms.es.trainer import ESTrainer
from marlax.algorithms.maml.trainer import MAMLTrainer
from marlax.algorithms.off_policy.trainer import OffPolicyTrainer
from marlax.algorithms.pbt.trainer import PBTTrainer
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.q_learning.trainer import QTrainer
from marlax.algorithms.varibad.trainer import VariBADTrainer
from marlax.config import load_config
from marlax.config.actor_critic import OFF_POLICY_ALGORITHMS
from marlax.config.load import read_json
from marlax.config.q_learning import Q_ALGORITHMS

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
# arrangement-search configs (marlax evolve) hold a training config under "base": tests/evolution
CONFIGS = sorted(path for path in CONFIG_DIR.glob("*.json") if "genes" not in read_json(path))
ENVS_PER_TASK = 2
ROLLOUT_LENGTH = 4
# the rest compile for 35-105 s each on 2 busy cores (grid envs, Transformer): full tier only
FAST = {"simple_spread", "nback", "nback_gru", "qmix_simple_spread", "es_simple_spread"}


def _algorithm(path: Path) -> str:
    return read_json(path).get("algorithm", "ppo")


def tiny_q_overrides(path: Path) -> list[str]:
    """Q-learner configs shrunk: 2 envs, 4-step chunks, batch 2, learning at once."""
    return [
        f"env.num_envs={ENVS_PER_TASK}",
        f"q_learning.rollout_length={ROLLOUT_LENGTH}",
        f"q_learning.total_env_steps={ROLLOUT_LENGTH * ENVS_PER_TASK}",
        "q_learning.batch_size=2",
        "q_learning.gradient_steps=1",
        "q_learning.learning_starts=0",
        "run.log_every=1",
        "run.checkpoint_every=1",
    ]


def tiny_off_policy_overrides() -> list[str]:
    """MADDPG/SAC configs shrunk: 2 envs, 4 steps, batch 2, learning at once."""
    return [
        f"env.num_envs={ENVS_PER_TASK}",
        f"off_policy.num_steps={ROLLOUT_LENGTH}",
        f"off_policy.total_env_steps={ROLLOUT_LENGTH * ENVS_PER_TASK}",
        "off_policy.batch_size=2",
        "off_policy.gradient_steps=1",
        "off_policy.learning_starts=0",
        "run.log_every=1",
        "run.checkpoint_every=1",
    ]


def tiny_overrides(path: Path) -> list[str]:
    """Overrides that keep the config's model, env and PPO settings but shrink the batch."""
    raw = read_json(path)
    num_tasks = len(raw["envs"]) if "envs" in raw else 1
    overrides = [f"envs.{i}.num_envs={ENVS_PER_TASK}" for i in range(num_tasks)]
    if "env" in raw:
        overrides = [f"env.num_envs={ENVS_PER_TASK}"]
        if raw["env"].get("num_resets") is not None:  # a reset pool may not exceed the envs
            overrides.append(f"env.num_resets={ENVS_PER_TASK}")
    total = ROLLOUT_LENGTH * ENVS_PER_TASK * num_tasks
    return [
        *overrides,
        f"ppo.rollout_length={ROLLOUT_LENGTH}",
        f"ppo.total_env_steps={total}",
        "ppo.num_epochs=1",
        "ppo.num_minibatches=1",
        "run.log_every=1",
        "run.checkpoint_every=1",
    ]


def test_every_env_has_a_config() -> None:
    """issue 3: one config per environment, plus the model variants and a multi-task config."""
    names = {path.stem for path in CONFIGS}
    expected = {
        "nback",
        "nback_gru",
        "nback_transformer",
        "grid_return",
        "grid_return_transformer",
        "scouts",
        "traveling_salesman",
        "king_of_the_hill",
        "simple_spread",
        "energy_flow",
        "multitask",
    }
    assert expected <= names
    multitask = load_config(CONFIG_DIR / "multitask.json")
    assert multitask.multi_task and len(multitask.envs) == 2


def test_shipped_configs_train_for_real() -> None:
    """The shipped budgets are real runs: at least 100 updates each, not smoke-test sizes."""
    for path in CONFIGS:
        config = load_config(path)
        if config.algorithm in Q_ALGORITHMS:
            assert QTrainer(config).num_updates >= 100, path.name
        elif config.algorithm in OFF_POLICY_ALGORITHMS:
            assert OffPolicyTrainer.from_config(config).num_updates >= 100, path.name
        elif config.algorithm == "es":
            assert ESTrainer(config).num_updates >= 100, path.name
        elif config.algorithm == "maml":
            assert MAMLTrainer(config).num_updates >= 100, path.name
        elif config.algorithm == "varibad":
            assert VariBADTrainer(config).num_updates >= 100, path.name
        else:
            assert config.num_updates >= 100, path.name


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(path, id=path.stem, marks=[] if path.stem in FAST else [pytest.mark.slow])
        for path in CONFIGS
    ],
)
def test_config_runs_one_update(path: Path) -> None:
    if _algorithm(path) in Q_ALGORITHMS:
        _q_config_runs_one_update(path)
        return
    if _algorithm(path) in OFF_POLICY_ALGORITHMS:
        _off_policy_config_runs_one_update(path)
        return
    if _algorithm(path) == "es":
        _es_config_runs_one_generation(path)
        return
    if _algorithm(path) in ("maml", "varibad"):
        _meta_config_runs_one_update(path)
        return
    population = ["run.num_seeds=2"] if _algorithm(path) == "pbt" else []
    config = load_config(path, tiny_overrides(path) + population)
    assert config.num_updates == 1
    trainer = PBTTrainer(config) if config.algorithm == "pbt" else Trainer(config)
    state = trainer.init(jax.random.key(0))
    state, metrics = trainer.update(state)
    losses = {
        name: np.asarray(value) for name, value in metrics.items() if name.startswith("loss/")
    }
    assert losses, sorted(metrics)
    for name, value in losses.items():
        assert value.shape == (config.run.num_seeds, 1), name
        assert np.all(np.isfinite(value)), (name, value)
    update = state.train.update if config.algorithm == "pbt" else state.update
    assert int(np.asarray(update)[0]) == 1


def _es_config_runs_one_generation(path: Path) -> None:
    """One generation of a population of 4 on 2 envs per member."""
    config = load_config(path, ["env.num_envs=2", "es.population_size=4"])
    trainer = ESTrainer(config)
    state, metrics = trainer.update(trainer.init(jax.random.key(0)), 1)
    assert np.all(np.isfinite(np.asarray(metrics["return"])))
    assert trainer.params_finite(state)


def _meta_config_runs_one_update(path: Path) -> None:
    """MAML (2 tasks x 1 episode) or VariBAD (2 trials), one update."""
    if _algorithm(path) == "maml":
        overrides = ["env.num_envs=2", "maml.meta_batch_size=2"]
        trainer = MAMLTrainer(load_config(path, overrides))
    else:
        overrides = ["env.num_envs=2", "ppo.num_minibatches=1", "ppo.num_epochs=1"]
        trainer = VariBADTrainer(load_config(path, overrides))
    state, metrics = trainer.update(trainer.init(jax.random.key(0)), 1)
    finite = [np.all(np.isfinite(np.asarray(value))) for value in metrics.values()]
    assert finite and all(finite), sorted(metrics)


def _q_config_runs_one_update(path: Path) -> None:
    config = load_config(path, tiny_q_overrides(path))
    trainer = QTrainer(config)
    assert trainer.num_updates == 1
    state, metrics = trainer.update(trainer.init(jax.random.key(0)), 1)
    loss = np.asarray(metrics["loss/td"])
    assert loss.shape == (config.run.num_seeds, 1)
    assert np.all(np.isfinite(loss)), loss
    assert int(np.asarray(state.update)[0]) == 1


def _off_policy_config_runs_one_update(path: Path) -> None:
    config = load_config(path, tiny_off_policy_overrides())
    trainer = OffPolicyTrainer.from_config(config)
    assert trainer.num_updates == 1
    state, metrics = trainer.update(trainer.init(jax.random.key(0)), 1)
    assert np.all(np.isfinite(np.asarray(metrics["loss/critic"])))
    assert trainer.params_finite(state)
