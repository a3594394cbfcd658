"""Model-graph validation: every bad graph is one `ConfigError` naming the node (or edge)."""

from __future__ import annotations

import copy
import json

import jax
import jax.numpy as jnp
import pytest

from marlax.config import load_from_dict
from marlax.envs.registry import make
from marlax.envs.spaces import Box, Discrete
from marlax.errors import ConfigError
from marlax.models.graph import GRAPH_PRESETS
from marlax.models.registry import has_memory, make_model_for_spaces
from tests.cli_process import assert_refused, run_marlax

VECTOR_OBS = Box(-1.0, 1.0, (5,), "float32")
IMAGE_OBS = Box(0.0, 1.0, (5, 5, 5), "float32")
ACTIONS = Discrete(4)
CHAIN = {
    "nodes": {
        "enc": {"module": "vector", "hidden_sizes": [8]},
        "core": {"module": "gru", "hidden_size": 8},
        "head": {"module": "head"},
    },
    "edges": [["obs", "enc"], ["enc", "core"], ["core", "head"]],
}


def _graph(nodes: dict | None = None, edges: list | None = None, drop: str = "") -> dict:
    """CHAIN with nodes added/replaced, edges appended, and node `drop` removed."""
    graph = copy.deepcopy(CHAIN)
    graph["nodes"].update(nodes or {})
    graph["nodes"].pop(drop, None)
    graph["edges"] = [e for e in graph["edges"] if drop not in e] + (edges or [])
    return graph


def _error(graph, obs_space=VECTOR_OBS, **settings) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        make_model_for_spaces("mlp", obs_space, ACTIONS, graph=graph, **settings)
    return raised.value


BAD_GRAPHS = {
    "unknown kind": (_graph({"core": {"module": "lstm"}}), "model.graph.nodes.core.module"),
    "unknown setting": (
        _graph({"core": {"module": "gru", "hidden": 8}}),
        "model.graph.nodes.core.hidden",
    ),
    "bad setting value": (
        _graph({"core": {"module": "gru", "hidden_size": 0}}),
        "model.graph.nodes.core.hidden_size",
    ),
    "cycle": (
        _graph({"loop": {"module": "mlp"}}, [["core", "loop"], ["loop", "core"]]),
        "model.graph.nodes.core.inputs",
    ),
    "node without input": (
        _graph({"stray": {"module": "mlp"}}, [["stray", "head"]]),
        "model.graph.nodes.stray.inputs",
    ),
    "unused output": (
        _graph({"spare": {"module": "mlp"}}, [["enc", "spare"]]),
        "model.graph.nodes.spare",
    ),
    "two heads": (
        _graph({"head2": {"module": "head"}}, [["core", "head2"]]),
        "model.graph.nodes.head2.module",
    ),
    "no head": (_graph(drop="head"), "model.graph.nodes"),
    "edge into nothing": (_graph(edges=[["core", "planner"]]), "model.graph.edges.3"),
    "grid encoder fed features": (
        _graph({"grid": {"module": "grid"}}, [["enc", "grid"], ["grid", "head"]]),
        "model.graph.nodes.grid.inputs",
    ),
    "member fed features": (
        _graph(
            {"expert": {"module": "member", "run": "runs/x"}},
            [["enc", "expert"], ["expert", "head"]],
        ),
        "model.graph.nodes.expert.inputs",
    ),
    "attention fed a vector": (
        _graph({"attend": {"module": "self_attention"}}, [["enc", "attend"], ["attend", "head"]]),
        "model.graph.nodes.attend.inputs",
    ),
    "unfrozen member": (
        _graph({"expert": {"module": "member", "frozen": False}}, [["obs", "expert"]]),
        "model.graph.nodes.expert.frozen",
    ),
    "unknown preset": ("perception_only", "model.graph"),
}


@pytest.mark.parametrize("case", sorted(BAD_GRAPHS))
def test_bad_graph_names_the_node(case):
    graph, field = BAD_GRAPHS[case]
    assert _error(graph).field == field


def test_image_encoder_on_vector_obs_and_mixed_concat_name_the_node():
    image = _graph({"enc": {"module": "image"}})
    assert _error(image).field == "model.graph.nodes.enc.inputs"
    mixed = {
        "nodes": {
            "eye": {"module": "conv"},
            "enc": {"module": "image"},
            "mix": {"module": "mlp"},
            "head": {"module": "head"},
        },
        "edges": [["obs", "eye"], ["obs", "enc"], ["eye", "mix"], ["enc", "mix"], ["mix", "head"]],
    }
    assert _error(mixed, IMAGE_OBS).field == "model.graph.nodes.mix.inputs"


def test_plain_model_settings_beside_a_graph_are_refused():
    assert _error(CHAIN, hidden_size=8).field == "model.core"


def test_preset_builds_for_energy_flow_observations(key):
    env = make("energy_flow", width=8, height=8, num_agents=2, view_size=5)
    model = make_model_for_spaces(
        "mlp", env.observation_space, env.action_space, graph="perception_conception_action"
    )
    assert has_memory(model)
    carry = model.initialize_carry((3, 2))
    assert sorted(carry) == ["action", "memory", "perception", "planner"]
    obs = jnp.zeros((3, 2, *env.observation_space.shape), jnp.float32)
    # shapes only (eval_shape): compiling the full preset is the PPO tests' job
    params = jax.eval_shape(model.init, key, carry, obs, jnp.ones((3, 2), bool))
    preset_nodes = GRAPH_PRESETS["perception_conception_action"]["nodes"]
    assert sorted(params["params"]) == sorted(f"node_{name}" for name in preset_nodes)
    _, (logits, value) = jax.eval_shape(model.apply, params, carry, obs, jnp.ones((3, 2), bool))
    assert logits.shape == (3, 2, env.action_space.n) and value.shape == (3, 2)
    # the attention pools 25 cells of the 5 x 5 view: a conv of 16 channels per cell
    assert params["params"]["node_eye"]["Dense_0"]["kernel"].shape == (3 * 3 * 5, 16)
    assert jax.tree.leaves(carry["memory"])[0].shape[:2] == (3, 2)


def _train_config(graph) -> dict:
    return {
        "env": {"name": "energy_flow", "num_envs": 4, "params": {"width": 8, "height": 8}},
        "model": {"graph": graph},
        "ppo": {"total_env_steps": 64, "rollout_length": 8, "num_minibatches": 2},
    }


def test_train_config_checks_the_graph_against_the_env():
    """energy_flow gives float images: a grid encoder on them is refused at load."""
    bad = _graph({"enc": {"module": "grid"}})
    with pytest.raises(ConfigError) as raised:
        load_from_dict(_train_config(bad))
    assert raised.value.field == "model.graph.nodes.enc.inputs"
    config = load_from_dict(_train_config("perception_conception_action"))
    assert config.model.graph == "perception_conception_action"


def test_cli_prints_one_line_and_exits_2_on_a_cycle(tmp_path):
    cyclic = _graph({"loop": {"module": "mlp"}}, [["core", "loop"], ["loop", "core"]])
    raw = _train_config({"nodes": cyclic["nodes"], "edges": cyclic["edges"]})
    path = tmp_path / "cyclic.json"
    path.write_text(json.dumps(raw))
    line = assert_refused(run_marlax("train", "-c", str(path)), "model.graph.nodes.core.inputs")
    assert "core -> loop -> core" in line
