"""MAPPO's centralised critic: the same function as a Dense on [state, agent one-hot, task
one-hot], stored and computed once per env (O(N) per env step, not O(N^2))."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.algorithms.ppo.centralised import CentralisedCritic, per_env_input
from marlax.algorithms.ppo.learn import (
    _minibatches,
    ppo_loss,
    with_critic_table,
    without_critic_table,
)
from marlax.algorithms.ppo.restore import load_trained
from marlax.algorithms.ppo.rollout import reset_runner, rollout
from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import config_to_dict, load_from_dict
from marlax.errors import ConfigError
from marlax.models.registry import make_model
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from tests.algorithms.ppo.helpers import tiny_config
from tests.algorithms.ppo.test_trainer import _first_rollout_batch


def _critic(hidden_sizes: tuple[int, ...], num_agents: int, **settings):
    """(the per-env critic, the per-agent "mlp" model on the concatenation it stands for)."""
    encoder = {"hidden_sizes": hidden_sizes, **settings}
    concatenated = make_model(
        "mlp", num_actions=1, encoder_settings=encoder, value_bins=3, hidden_sizes=(8,)
    )
    rest = {**encoder, "hidden_sizes": hidden_sizes[1:]}
    torso = make_model("mlp", num_actions=1, encoder_settings=rest, value_bins=3, hidden_sizes=(8,))
    critic = CentralisedCritic(torso, num_agents, hidden_sizes[0], **settings)
    return critic, concatenated


def _concatenated_params(params: dict, state_size: int) -> dict:
    """The per-agent model's parameters equal to the critic's: kernel rows [W_state; W_agent;
    W_task] in the order [global state, agent one-hot, task one-hot] (the critic's state input
    holds [global state, task one-hot]); the first LayerNorm and the deeper layers shifted by
    one into the encoder."""
    inner = params["params"]
    first = inner["state_dense"]
    kernel = jnp.concatenate(
        [first["kernel"][:state_size], inner["agent_embedding"], first["kernel"][state_size:]]
    )
    torso = inner["torso"]
    encoder = {"Dense_0": {"kernel": kernel, "bias": first["bias"]}}
    if "norm_0" in inner:
        encoder["norm_0"] = inner["norm_0"]
    for name, layer in torso.get("encoder", {}).items():
        kind, index = name.split("_")
        encoder[f"{kind}_{int(index) + 1}"] = layer
    return {"params": {"encoder": encoder, "core": torso["core"], "head": torso["head"]}}


@pytest.mark.parametrize(
    ("hidden_sizes", "settings"), [((16, 8), {"layer_norm": True}), ((16,), {"activation": "relu"})]
)
def test_value_equals_a_dense_on_the_concatenated_input(hidden_sizes, settings):
    """Over T steps of B envs, the per-env critic's value logits equal those of the per-agent
    model on [state, one_hot(agent), one_hot(task)] with the stacked kernel (the torso is the
    same `RecurrentModel` for every core: sequences, memories and resets are checked in
    test_networks.py)."""
    steps, envs, agents, state_size, tasks = 4, 3, 5, 7, 2
    critic, concatenated = _critic(hidden_sizes, agents, **settings)
    state_key, task_key, init_key = jax.random.split(jax.random.key(0), 3)
    global_state = jax.random.normal(state_key, (steps, envs, state_size))
    task = jax.nn.one_hot(jax.random.randint(task_key, (envs,), 0, tasks), tasks)
    critic_state = jnp.concatenate(
        [global_state, jnp.broadcast_to(task, (steps, envs, tasks))], axis=-1
    )
    reset = jnp.zeros((steps, envs, agents), bool).at[0].set(True).at[2, 1].set(True)
    critic_input = per_env_input(critic_state, agents)
    carry = critic.initialize_carry((envs, agents))
    params = critic.init(init_key, carry, per_env_input(critic_state[0], agents), reset[0])
    _, (_, logits) = critic.apply(params, carry, critic_input, reset, method="sequence")

    agent_one_hot = jnp.broadcast_to(jnp.eye(agents), (steps, envs, agents, agents))
    per_agent = jnp.concatenate(
        [
            jnp.broadcast_to(global_state[:, :, None], (steps, envs, agents, state_size)),
            agent_one_hot,
            jnp.broadcast_to(task[None, :, None], (steps, envs, agents, tasks)),
        ],
        axis=-1,
    )
    reference = concatenated.apply(
        _concatenated_params(params, state_size), carry, per_agent, reset, method="sequence"
    )[1][1]
    assert logits.shape == (steps, envs, agents, 3)
    np.testing.assert_allclose(logits, reference, rtol=1e-5, atol=1e-5)
    assert not np.allclose(logits[:, :, 0], logits[:, :, 1], atol=1e-3)  # agents differ


def test_init_draws_the_kernel_a_dense_on_the_concatenation_would():
    """Both kernel blocks are LeCun normal on the whole fan-in C + N (std 1 / sqrt(C + N))."""
    critic, _ = _critic((64,), 300)
    state = jnp.zeros((1, 200))
    params = jax.jit(critic.init)(
        jax.random.key(1),
        critic.initialize_carry((1, 300)),
        per_env_input(state, 300),
        jnp.ones((1, 300), bool),
    )["params"]
    expected = 1.0 / np.sqrt(200 + 300)
    for block in (params["state_dense"]["kernel"], params["agent_embedding"]):
        assert abs(float(jnp.std(block)) / expected - 1.0) < 0.05
    np.testing.assert_array_equal(params["state_dense"]["bias"], 0.0)


def _transition_shapes(num_agents: int, critic: str = "centralised", steps: int = 4):
    """The rollout's Transition as shapes only (traced, not compiled) on coverage with N
    agents and a fixed 16 targets and observation size."""
    config = tiny_config(
        "coverage",
        num_envs=2,
        rollout_length=steps,
        env_params={"num_agents": num_agents, "num_targets": 16},
        ppo={"critic": critic},
    )
    trainer = Trainer(config)
    layout, networks = trainer.layout, trainer.networks

    def _rollout(key):
        params = networks.init(key, layout)
        runner = reset_runner(key, layout, networks)
        return rollout(key, layout, networks, params, runner, steps)[1]

    return jax.eval_shape(_rollout, jax.random.key(0)), layout


def _nbytes(tree) -> int:
    return sum(leaf.size * leaf.dtype.itemsize for leaf in jax.tree.leaves(tree))


def test_rollout_stores_one_state_per_env_and_memory_is_linear_in_agents():
    """critic_state is [T, B, C] (no agent axis), C = 4N + 4M on coverage; the bytes of a
    rollout grow linearly in N: equal increments from N = 100 to 200 to 300 (the per-agent
    layout [T, B, N, C + N] would add 8 B T N^2 bytes of second difference)."""
    sizes = {}
    for num_agents in (100, 200, 300):
        transitions, layout = _transition_shapes(num_agents)
        assert transitions.critic_state.shape == (4, 2, 4 * num_agents + 4 * 16)
        assert layout.critic_size() == 4 * num_agents + 4 * 16
        assert transitions.model_obs.shape[:3] == (4, 2, num_agents)
        sizes[num_agents] = _nbytes(transitions)
    assert sizes[300] - sizes[200] == sizes[200] - sizes[100] > 0
    # the centralised critic stores one state per env step on top of the independent layout
    independent, _ = _transition_shapes(100, "independent")
    assert sizes[100] - _nbytes(independent) == 4 * 2 * (4 * 100 + 4 * 16) * 4


# recurrent: also test_trainer.py (transformer) and test_team_batches.py (gru), slow tier too
@pytest.mark.parametrize("model", ["mlp", pytest.param("gru", marks=pytest.mark.slow)])
def test_shuffled_minibatches_replay_what_acting_saw(key, model):
    """Before a gradient step every shuffled minibatch's log-probs and centralised values equal
    the rollout's (KL 0, value error 0): each sample reads its own env step's state and agent
    row from the whole table (feed-forward single steps and recurrent sequences)."""
    config = tiny_config(model=model, env_params={"max_steps": 3}, ppo={"critic": "centralised"})
    trainer = Trainer(config)
    state, transitions, batch = _first_rollout_batch(trainer, key)
    assert transitions.critic_state.shape == (8, 4, trainer.layout.critic_size())
    assert batch.critic.state.shape == (8 * 4, trainer.layout.critic_size())
    assert batch.critic.row.shape == batch.advantages.shape  # [T, K] like every leaf
    split_batch, table = without_critic_table(batch)
    minibatches = _minibatches(jax.random.key(5), split_batch, 2)
    loss = jax.jit(lambda p, b: ppo_loss(p, trainer.networks, b, trainer.ppo)[1])
    for index in range(2):
        minibatch = jax.tree.map(lambda x, i=index: x[i], minibatches)
        minibatch = with_critic_table(minibatch, table)
        metrics = loss(state.params, minibatch)
        np.testing.assert_allclose(metrics.approx_kl, 0.0, atol=1e-6)
        expected = 0.5 * jnp.mean(jnp.square(minibatch.transition.value - minibatch.targets))
        np.testing.assert_allclose(metrics.value, expected, rtol=1e-4)


def test_multi_task_state_ends_with_the_task_one_hot(key):
    """Multi-task: one row per env of [global state padded to S_max, task one-hot]."""
    raw = config_to_dict(tiny_config("nback", ppo={"critic": "centralised"}))
    raw["envs"].append({"name": "simple_spread", "num_envs": 2, "params": {}})
    trainer = Trainer(load_from_dict(raw))
    layout = trainer.layout
    runner = reset_runner(key, layout, trainer.networks)
    rows = [layout.critic_state(i, task.env_state, task.obs) for i, task in enumerate(runner.tasks)]
    size = layout.critic_size()
    assert [row.shape for row in rows] == [(4, size), (2, size)]
    np.testing.assert_array_equal(rows[0][:, -2:], np.broadcast_to([1.0, 0.0], (4, 2)))
    np.testing.assert_array_equal(rows[1][:, -2:], np.broadcast_to([0.0, 1.0], (2, 2)))
    params = trainer.networks.init(key, layout)["critic"]["params"]
    assert params["state_dense"]["kernel"].shape[0] == size
    assert params["agent_embedding"].shape[0] == layout.max_agents == 3


def _placeholder(leaf: jax.ShapeDtypeStruct):
    """A value of the leaf's shape and dtype (what is saved is never read)."""
    if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return jax.random.split(jax.random.key(0), leaf.shape)
    return np.zeros(leaf.shape, leaf.dtype)


def test_a_run_saved_with_the_per_agent_critic_fails_in_one_line(tmp_path, key):
    """A checkpoint whose critic is the former per-agent model (a Dense on [state, one-hot])
    does not load into the per-env critic: one ConfigError naming the checkpoint, the leaves
    that differ and "retrain", not a traceback."""
    config = tiny_config(ppo={"critic": "centralised"})
    trainer = Trainer(config)
    layout = trainer.layout
    state = jax.tree.map(_placeholder, trainer.abstract_state())
    # the former critic: the plain model on f32[1, N, C + N]
    former = make_model("mlp", num_actions=1, hidden_sizes=(16,))
    carry = former.initialize_carry((1, layout.max_agents))
    per_agent = jnp.zeros((1, layout.max_agents, layout.critic_size() + layout.max_agents))
    former_params = former.init(key, carry, per_agent, jnp.ones((1, layout.max_agents), bool))
    seeds = jax.tree.map(lambda leaf: np.asarray(leaf)[None], former_params)
    state = state.replace(params={**state.params, "critic": seeds})
    folder = RunFolder.create(tmp_path, "old-mappo", config_to_dict(config))
    with Checkpointer(folder.checkpoint_dir) as checkpointer:
        checkpointer.save(1, state)
    with pytest.raises(ConfigError, match="retrain") as error:
        load_trained(tmp_path, "old-mappo")
    message = str(error.value)
    assert error.value.field == "checkpoint" and "\n" not in message
    assert "['critic']['params']['encoder']" in message  # what was found


@pytest.mark.slow  # compiles a whole update at N = 1,000 (~30-60 s on 2 shared cores)
def test_mappo_update_runs_on_coverage_with_1000_agents(key):
    """One MAPPO update with 1,000 agents: the per-agent input would be 1,000 x 9,000 floats
    (36 MB) per env step; the stored state is 8,000 floats (32 kB)."""
    num_agents, steps = 1000, 4
    raw = config_to_dict(
        tiny_config(
            "coverage",
            num_envs=1,
            rollout_length=steps,
            updates=1,
            env_params={"num_agents": num_agents, "num_targets": num_agents},
            ppo={"critic": "centralised", "num_epochs": 1},
        )
    )
    raw["model"]["encoder"] = {"hidden_sizes": [16]}
    trainer = Trainer(load_from_dict(raw))
    assert trainer.layout.critic_size() == 8 * num_agents
    state, metrics = trainer.update(trainer.init(key))
    for name in ("loss/value", "loss/policy", "loss/total"):
        assert np.isfinite(np.asarray(metrics[name])).all(), name
    critic = state.params["critic"]["params"]
    assert critic["state_dense"]["kernel"].shape[1:] == (8 * num_agents, 16)
    assert critic["agent_embedding"].shape[1:] == (num_agents, 16)
