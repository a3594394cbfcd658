"""Executing model graphs: sequence == step loop, jit == no-jit, graph == the same modules
wired by hand, frozen nodes get no gradient but pass it on, member nodes are the trained model."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from marlax.envs.spaces import Box, Discrete
from marlax.models import GRUCore, PolicyValueHead, TransformerCore, make_model
from marlax.models.graph import GraphModel, Members
from marlax.models.graph.perception import ConvTokens, TokenSelfAttention
from marlax.models.registry import make_model_for_spaces

IMAGE_OBS = Box(0.0, 1.0, (4, 4, 3), "float32")
VECTOR_OBS = Box(-1.0, 1.0, (5,), "float32")
ACTIONS = Discrete(4)
BATCH = (2, 3)  # [B envs, N agents]: the consensus node's team is the last axis
STEPS = 4

ALL_KINDS = {
    "nodes": {
        "eye": {"module": "conv", "conv_channels": [4]},
        "attend": {"module": "self_attention", "d_model": 8, "num_heads": 2},
        "enc": {"module": "image", "conv_channels": [4], "output_size": 8},
        "core": {"module": "gru", "hidden_size": 8},
        "memory": {"module": "transformer", "d_model": 8, "num_heads": 2, "num_layers": 1,
                   "context_length": 3},
        "ssm": {"module": "ssm", "d_model": 8, "num_layers": 1, "state_size": 4, "expand": 1},
        "team": {"module": "consensus", "features": 4},
        "mix": {"module": "mlp", "hidden_sizes": [8]},
        "head": {"module": "head"},
    },
    "edges": [
        ["obs", "eye"], ["eye", "attend"], ["obs", "enc"], ["attend", "core"], ["enc", "core"],
        ["core", "memory"], ["core", "ssm"], ["memory", "team"], ["ssm", "team"],
        ["team", "mix"], ["mix", "head"],
    ],
}  # fmt: skip
"""Every stateless and recurrent kind, with concatenated inputs and a team consensus."""

MINI_PCA = {
    "nodes": {
        "eye": {"module": "conv", "conv_channels": [4]},
        "attention": {"module": "self_attention", "d_model": 8, "num_heads": 2},
        "perception": {"module": "gru", "hidden_size": 8},
        "planner": {"module": "gru", "hidden_size": 8},
        "memory": {"module": "transformer", "d_model": 8, "num_heads": 2, "num_layers": 1,
                   "context_length": 3},
        "action": {"module": "gru", "hidden_size": 8},
        "head": {"module": "head"},
    },
    "edges": [
        ["obs", "eye"], ["eye", "attention"], ["attention", "perception"],
        ["perception", "planner"], ["perception", "memory"], ["planner", "action"],
        ["memory", "action"], ["action", "head"],
    ],
}  # fmt: skip
"""The perception -> conception -> action preset's wiring at tiny widths."""


@functools.cache
def _jitted(name: str) -> tuple:
    """(jitted step, jitted sequence) of `_model_and_params(name)`'s model, compiled once."""
    model, _ = _model_and_params(name)
    return jax.jit(model.apply), jax.jit(functools.partial(model.apply, method="sequence"))


@functools.cache
def _model_and_params(name: str) -> tuple[GraphModel, dict]:
    graph = {"all_kinds": ALL_KINDS, "mini_pca": MINI_PCA}[name]
    model = make_model_for_spaces("mlp", IMAGE_OBS, ACTIONS, graph=graph)
    obs = jnp.zeros((*BATCH, *IMAGE_OBS.shape))
    params = jax.jit(model.init)(
        jax.random.key(0), model.initialize_carry(BATCH), obs, jnp.ones(BATCH, bool)
    )
    return model, params


def _inputs(key: jax.Array) -> tuple[jax.Array, jax.Array]:
    """obs f32[T, B, N, 4, 4, 3] and resets bool[T, B, N] with episode starts mid-sequence."""
    obs_key, reset_key = jax.random.split(key)
    obs = jax.random.uniform(obs_key, (STEPS, *BATCH, *IMAGE_OBS.shape))
    reset = jax.random.bernoulli(reset_key, 0.3, (STEPS, *BATCH)).at[2, 0, 0].set(True)
    return obs, reset


def _warm_carry(name: str, key: jax.Array):
    """A carry after two steps: not empty, so the sequence must start from it."""
    model, params = _model_and_params(name)
    step, _ = _jitted(name)
    obs, _ = _inputs(key)
    carry = model.initialize_carry(BATCH)
    for index in range(2):
        carry, _ = step(params, carry, obs[index], jnp.zeros(BATCH, bool))
    return carry


def _step_loop(step_fn, params: dict, carry, obs, reset):
    outputs = []
    for step in range(obs.shape[0]):
        carry, output = step_fn(params, carry, obs[step], reset[step])
        outputs.append(output)
    return carry, jax.tree.map(lambda *leaves: jnp.stack(leaves), *outputs)


def _assert_trees_close(actual, expected, atol=1e-5) -> None:
    for a, b in zip(jax.tree.leaves(actual), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), atol=atol)


def test_sequence_equals_step_loop_with_resets_from_a_warm_carry(key):
    model, params = _model_and_params("all_kinds")
    assert sorted(model.initialize_carry(BATCH)) == ["core", "memory", "ssm"]
    carry = _warm_carry("all_kinds", jax.random.key(1))
    assert any(bool(jnp.any(leaf != 0)) for leaf in jax.tree.leaves(carry))
    obs, reset = _inputs(key)
    step, sequence = _jitted("all_kinds")
    loop_carry, loop_out = _step_loop(step, params, carry, obs, reset)
    seq_carry, seq_out = sequence(params, carry, obs, reset)
    _assert_trees_close(seq_out, loop_out)
    _assert_trees_close(seq_carry, loop_carry)
    assert seq_out[0].shape == (STEPS, *BATCH, ACTIONS.n) and seq_out[1].shape == (STEPS, *BATCH)


@pytest.mark.slow  # ~23 s: the un-jitted graph model is slow on CPU (CI time)
def test_jit_equals_no_jit(key):
    model, params = _model_and_params("mini_pca")
    carry = model.initialize_carry(BATCH)
    obs, reset = _inputs(key)
    step, _ = _jitted("mini_pca")
    _assert_trees_close(
        step(params, carry, obs[0], reset[0]),
        model.apply(params, carry, obs[0], reset[0]),
    )


def test_vector_chain_equals_the_plain_gru_model_on_its_parameters(key):
    """obs -> vector encoder -> gru -> head is exactly `make_model("gru")`."""
    plain = make_model("gru", num_actions=4, encoder_settings={"hidden_sizes": (8,)}, hidden_size=8)
    graph = {
        "nodes": {
            "enc": {"module": "vector", "hidden_sizes": [8]},
            "core": {"module": "gru", "hidden_size": 8},
            "head": {"module": "head"},
        },
        "edges": [["obs", "enc"], ["enc", "core"], ["core", "head"]],
    }
    model = make_model_for_spaces("mlp", VECTOR_OBS, ACTIONS, graph=graph)
    obs = jax.random.normal(key, (STEPS, *BATCH, 5))
    reset = jnp.zeros((STEPS, *BATCH), bool).at[3].set(True)
    plain_params = plain.init(jax.random.key(1), plain.initialize_carry(BATCH), obs[0], reset[0])
    p = plain_params["params"]
    graph_params = {
        "params": {"node_enc": p["encoder"], "node_core": p["core"], "node_head": p["head"]}
    }
    graph_carry = {"core": plain.initialize_carry(BATCH)}
    expected = plain.apply(
        plain_params, plain.initialize_carry(BATCH), obs, reset, method="sequence"
    )
    actual = model.apply(graph_params, graph_carry, obs, reset, method="sequence")
    _assert_trees_close(actual[1], expected[1], atol=0.0)
    _assert_trees_close(actual[0]["core"], expected[0], atol=0.0)


@jax.jit
def _hand_wired_step(params: dict, carry: dict, obs: jax.Array, reset: jax.Array):
    """MINI_PCA's modules applied one by one on the graph's parameters."""
    p = params["params"]
    cells = ConvTokens(conv_channels=(4,)).apply({"params": p["node_eye"]}, obs)
    seen = TokenSelfAttention(8, 2).apply({"params": p["node_attention"]}, cells)
    gru = GRUCore(hidden_size=8)
    perception_carry, percept = gru.apply(
        {"params": p["node_perception"]}, carry["perception"], seen, reset
    )
    planner_carry, plan = gru.apply({"params": p["node_planner"]}, carry["planner"], percept, reset)
    memory = TransformerCore(d_model=8, num_heads=2, num_layers=1, context_length=3)
    memory_carry, recalled = memory.apply(
        {"params": p["node_memory"]}, carry["memory"], percept, reset
    )
    both = jnp.concatenate([plan, recalled], axis=-1)  # edge order: planner, then memory
    action_carry, acted = gru.apply({"params": p["node_action"]}, carry["action"], both, reset)
    output = PolicyValueHead(ACTIONS.n).apply({"params": p["node_head"]}, acted)
    new_carry = {
        "action": action_carry,
        "memory": memory_carry,
        "perception": perception_carry,
        "planner": planner_carry,
    }
    return new_carry, output


def test_preset_wiring_equals_the_modules_wired_by_hand(key):
    _, params = _model_and_params("mini_pca")
    carry = _warm_carry("mini_pca", jax.random.key(2))
    obs, reset = _inputs(key)
    expected_carry, outputs = carry, []
    for step in range(STEPS):
        expected_carry, output = _hand_wired_step(params, expected_carry, obs[step], reset[step])
        outputs.append(output)
    expected = jax.tree.map(lambda *leaves: jnp.stack(leaves), *outputs)
    actual_carry, actual = _jitted("mini_pca")[1](params, carry, obs, reset)
    _assert_trees_close(actual, expected)
    _assert_trees_close(actual_carry, expected_carry)


def _chain_with_frozen_core() -> dict:
    graph = {key: value for key, value in MINI_PCA.items()}
    nodes = dict(graph["nodes"])
    nodes["perception"] = {**nodes["perception"], "frozen": True}
    return {"nodes": nodes, "edges": graph["edges"]}


def test_frozen_node_gets_no_gradient_but_passes_it_upstream(key):
    model = make_model_for_spaces("mlp", IMAGE_OBS, ACTIONS, graph=_chain_with_frozen_core())
    _, params = _model_and_params("mini_pca")  # the same parameter tree
    obs, reset = _inputs(key)

    def _loss(variables):
        _, (logits, value) = model.apply(
            variables, model.initialize_carry(BATCH), obs, reset, method="sequence"
        )
        return jnp.sum(logits**2) + jnp.sum(value**2)

    grads = jax.jit(jax.grad(_loss))(params)["params"]
    norms = {name: float(optax_norm(tree)) for name, tree in grads.items()}
    assert norms["node_perception"] == 0.0
    # gradient reaches the nodes before the frozen one, and the ones after it
    assert norms["node_eye"] > 0 and norms["node_attention"] > 0 and norms["node_planner"] > 0


def optax_norm(tree) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree.leaves(tree)))


def test_member_node_reads_the_trained_model_and_stays_frozen(key):
    member = make_model(
        "gru", num_actions=3, encoder_settings={"hidden_sizes": (8,)}, hidden_size=8
    )
    graph = {
        "nodes": {
            "expert": {"module": "member", "run": "unused-here"},
            "enc": {"module": "vector", "hidden_sizes": [8]},
            "head": {"module": "head"},
        },
        "edges": [["obs", "expert"], ["obs", "enc"], ["expert", "head"], ["enc", "head"]],
    }
    model = make_model_for_spaces(
        "mlp", VECTOR_OBS, ACTIONS, graph=graph, members=Members((("expert", member),))
    )
    obs = jax.random.normal(key, (STEPS, *BATCH, 5))
    reset = jnp.zeros((STEPS, *BATCH), bool)
    member_params = member.init(jax.random.key(3), member.initialize_carry(BATCH), obs[0], reset[0])
    params = jax.jit(model.init)(jax.random.key(4), model.initialize_carry(BATCH), obs[0], reset[0])
    params = {"params": {**params["params"], "node_expert": member_params["params"]}}
    carry = model.initialize_carry(BATCH)
    assert jax.tree.structure(carry["expert"]) == jax.tree.structure(member.initialize_carry(BATCH))

    def _loss(variables):
        _, (logits, _) = model.apply(variables, carry, obs, reset, method="sequence")
        return jnp.sum(logits**2)

    grads = jax.jit(jax.grad(_loss))(params)["params"]
    assert float(optax_norm(grads["node_expert"])) == 0.0
    assert float(optax_norm(grads["node_enc"])) > 0.0
    # the head reads [member logits f32[3], member value f32[1], enc f32[8]]
    _, (member_logits, member_value) = member.apply(
        member_params, member.initialize_carry(BATCH), obs, reset, method="sequence"
    )
    kernel = params["params"]["node_head"]["policy"]["kernel"]
    assert kernel.shape == (3 + 1 + 8, ACTIONS.n)
    zero_enc = {"params": {**params["params"]}}
    zero_enc["params"]["node_head"] = {
        "policy": {"kernel": kernel.at[4:].set(0.0), "bias": jnp.zeros(ACTIONS.n)},
        "value": params["params"]["node_head"]["value"],
    }
    _, (logits, _) = model.apply(zero_enc, carry, obs, reset, method="sequence")
    member_features = jnp.concatenate([member_logits, member_value[..., None]], axis=-1)
    expected = jnp.einsum("tbnf,fa->tbna", member_features, kernel[:4])
    np.testing.assert_allclose(logits, expected, atol=1e-5)


@pytest.mark.parametrize("dtype", ["bfloat16"])
def test_bf16_graph_returns_f32_outputs_and_carry(key, dtype):
    graph = {"nodes": MINI_PCA["nodes"], "edges": MINI_PCA["edges"]}
    model = make_model_for_spaces("mlp", IMAGE_OBS, ACTIONS, graph=graph, dtype=dtype)
    _, params = _model_and_params("mini_pca")
    obs, reset = _inputs(key)
    carry, (logits, value) = jax.jit(model.apply)(
        params, model.initialize_carry(BATCH), obs[0], reset[0]
    )
    assert logits.dtype == value.dtype == jnp.float32
    assert all(leaf.dtype in (jnp.float32, jnp.bool_) for leaf in jax.tree.leaves(carry))
