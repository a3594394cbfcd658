"""Sebulba: the policy-lag bound, the alive mask as PPO's loss weight, a run through the host
loop (metrics, checkpoint, resume, policy loader), and config errors."""

from __future__ import annotations

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.common.run_folders import create_run, open_run
from marlax.algorithms.ppo.networks import make_networks
from marlax.algorithms.ppo.types import Transition
from marlax.algorithms.ppo.update import make_optimizer
from marlax.algorithms.sebulba.host_envs import HostLayout
from marlax.algorithms.sebulba.learner import JointBatch, SebulbaState, learn_step
from marlax.algorithms.sebulba.loop import train_run
from marlax.algorithms.sebulba.policy import load_sebulba_policies
from marlax.algorithms.sebulba.trainer import SebulbaTrainer
from marlax.algorithms.trained import PolicyRequest
from marlax.config import load_from_dict
from marlax.config.schema import ModelConfig, OptimizerConfig, PPOConfig
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.runs.metrics import read_metrics
from tests.algorithms.sebulba.helpers import tiny_sebulba


def test_policy_lag_stays_within_queue_size_plus_one(tmp_path):
    """A slow learner lets the actors run ahead until their queues are full: the lag then
    reaches its bound queue_size + 1 and never passes it; each update logs its max."""
    queue_size = 2
    trainer = SebulbaTrainer(tiny_sebulba(str(tmp_path), updates=8, queue_size=queue_size))
    learn = trainer._learn

    def _slow_learn(state, batch):
        time.sleep(0.3)
        return learn(state, batch)

    trainer._learn = _slow_learn
    try:
        state, metrics = trainer.update(trainer.init(jax.random.key(0)), 8)
    finally:
        trainer.close()
    lags = np.array(trainer.lags).reshape(8, 2)  # [update, actor]
    assert lags.min() >= 0 and lags.max() == queue_size + 1
    np.testing.assert_array_equal(metrics["policy_lag/max"][0], lags.max(axis=1))
    assert int(state.update[0]) == 8


def _random_batch(rng: np.random.Generator, alive: np.ndarray) -> JointBatch:
    """A batch [T, B, N] of random steps, laid out as actors write them: a dead step is done
    and terminated, and an agent's last live step before it dies is done."""
    steps, envs, agents = alive.shape
    shape = alive.shape
    dead = ~alive
    dies_next = np.concatenate([alive[:-1] & dead[1:], np.zeros_like(alive[:1])])
    transition = Transition(
        model_obs=rng.normal(size=(*shape, 4)).astype(np.float32),
        critic_state=np.zeros((steps, envs, 0), np.float32),
        reset=rng.random(shape) < 0.2,
        action=rng.integers(0, 3, shape).astype(np.int32),
        log_prob=np.full(shape, np.log(1 / 3), np.float32),
        value=rng.normal(size=shape).astype(np.float32),
        reward=rng.normal(size=shape).astype(np.float32),
        done=(rng.random(shape) < 0.1) | dead | dies_next,
        terminated=dead.copy(),
        final_value=np.zeros(shape, np.float32),
        legal_mask=np.ones((*shape, 3), bool),
    )
    finished = np.zeros((steps, envs), bool)
    carries = ((), ())
    return JointBatch(
        transition,
        alive,
        rng.normal(size=(envs, agents)).astype(np.float32),
        carries,
        finished,
        np.zeros((steps, envs), np.float32),
        np.zeros((steps, envs), np.int32),
    )


def test_dead_agent_steps_weigh_nothing_in_the_update():
    """Garbage in every masked (dead) step leaves PPO's update bitwise unchanged, and
    unmasking them changes it: the alive mask is the loss weight."""
    layout = HostLayout(Box(-5.0, 5.0, (4,)), Discrete(3), 2)
    ppo = PPOConfig(num_epochs=2, num_minibatches=2, rollout_length=6)
    networks = make_networks(ModelConfig(core={"hidden_sizes": [8]}), layout, ppo)
    optimizer = make_optimizer(ppo, OptimizerConfig(), 10)
    params = networks.init(jax.random.key(0), layout)
    state = SebulbaState(
        *jax.tree.map(lambda x: x[None], (params, optimizer.init(params), jax.random.key(1))),
        jnp.zeros((1,), jnp.int32),
    )
    rng = np.random.default_rng(0)
    alive = rng.random((6, 3, 2)) < 0.6
    batch = _random_batch(rng, alive)
    dead = ~alive
    garbage = batch.transition.replace(
        model_obs=np.where(dead[..., None], 99.0, batch.transition.model_obs),
        action=np.where(dead, 2, batch.transition.action),
        reward=np.where(dead, 1e3, batch.transition.reward),
        value=np.where(dead, -7.0, batch.transition.value),
        log_prob=np.where(dead, -0.1, batch.transition.log_prob),
    )
    step = jax.jit(lambda s, b: learn_step(networks, optimizer, ppo, s, b))
    clean, _ = step(state, batch)
    dirty, _ = step(state, batch._replace(transition=garbage))
    for a, b in zip(jax.tree.leaves(clean.params), jax.tree.leaves(dirty.params), strict=True):
        np.testing.assert_array_equal(a, b)
    unmasked, _ = step(state, batch._replace(transition=garbage, alive=np.ones_like(alive)))
    moved = [
        not np.array_equal(a, b)
        for a, b in zip(
            jax.tree.leaves(clean.params), jax.tree.leaves(unmasked.params), strict=True
        )
    ]
    assert any(moved)


def test_a_run_logs_checkpoints_resumes_and_loads_as_a_policy(tmp_path):
    config = tiny_sebulba(str(tmp_path), updates=4)
    folder = create_run(config)
    result = train_run(folder, config)
    assert result.updates == 4 and result.env_steps == 4 * 32
    rows = read_metrics(folder.metrics_path)
    assert [row["update"] for row in rows] == [1, 2, 3, 4]
    assert all(0 <= row["policy_lag/max"] <= 2 for row in rows)
    assert folder.read_status()["learner"] == "sebulba"

    # continue the same run to 6 updates: it resumes from the checkpoint at update 4
    raw = folder.read_config()
    raw["ppo"]["total_env_steps"] = 6 * 32
    (folder.path / "config.json").write_text(json.dumps(raw))
    folder, config = open_run(tmp_path, folder.name)
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        assert checkpointer.latest_step() == 4
    result = train_run(folder, config)
    assert result.updates == 6
    assert [row["update"] for row in read_metrics(folder.metrics_path)] == list(range(1, 7))

    (policy,) = load_sebulba_policies(
        RunFolder.open(tmp_path, folder.name), config, PolicyRequest()
    )
    assert policy.algorithm == "sebulba" and policy.update == 6
    env = policy.env
    obs, state = env.reset(jax.random.key(0))
    actions, _ = policy.policy.act(
        jax.random.key(1), obs, state, policy.policy.initial_memory(), jnp.bool_(True)
    )
    assert actions.shape == (env.num_agents,) and env.action_space.contains(np.asarray(actions))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sebulba": {"num_actors": 3}}, "envs.0.num_envs"),
        ({"run": {"num_seeds": 2}}, "run.num_seeds"),
        ({"ppo": {"critic": "centralised"}}, "ppo.critic"),
        ({"sebulba": {"host_env": "magent2.environments.battle_v4"}}, "sebulba.host_env"),
        ({"model": {"coordination": {"kind": "consensus"}}}, "model.coordination"),
        (
            {
                "model": {"mean_field": {}},
                "sebulba": {"host_env": "pettingzoo:magent2.environments.battle_v4"},
            },
            "model.mean_field",
        ),
    ],
)
def test_bad_configs_name_the_field(change, field):
    raw = {
        "algorithm": "sebulba",
        "env": {"name": "simple_spread", "num_envs": 4},
        "ppo": {"total_env_steps": 4096, "rollout_length": 8},
    }
    for section, values in change.items():
        raw[section] = {**raw.get(section, {}), **values}
    with pytest.raises(ConfigError) as caught:
        load_from_dict(raw)
    assert caught.value.field == field


def test_an_unimportable_host_env_is_a_config_error(tmp_path):
    config = tiny_sebulba(str(tmp_path), host_env="pettingzoo:no_such_module_here")
    with pytest.raises(ConfigError, match="sebulba.host_env"):
        SebulbaTrainer(config)
