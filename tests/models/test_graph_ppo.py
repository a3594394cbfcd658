"""A model graph under PPO: frozen and member nodes keep their parameters through an update
while the nodes before and after them learn."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from marlax.algorithms.ppo.trainer import Trainer
from marlax.config import load_from_dict
from tests.play.tiny_runs import save_run

ENV = {"name": "energy_flow", "num_envs": 2, "params": {"width": 8, "height": 8, "view_size": 3}}
PPO = {"total_env_steps": 32, "rollout_length": 8, "num_minibatches": 2, "num_epochs": 1}
MEMBER_RUN = {
    "env": ENV,
    "model": {
        "name": "gru",
        "encoder": {"conv_channels": [4], "output_size": 8},
        "core": {"hidden_size": 8},
    },
    "ppo": PPO,
}


def _graph(member_run: str) -> dict:
    return {
        "nodes": {
            "enc": {"module": "image", "conv_channels": [4], "output_size": 8},
            "core": {"module": "gru", "hidden_size": 8, "frozen": True},
            "expert": {"module": "member", "run": member_run},
            "head": {"module": "head"},
        },
        "edges": [["obs", "enc"], ["enc", "core"], ["core", "head"], ["obs", "expert"],
                  ["expert", "head"]],
    }  # fmt: skip


def _max_change(before, after) -> float:
    return max(
        float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
        for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True)
    )


@pytest.mark.slow
def test_ppo_update_keeps_frozen_and_member_nodes_and_trains_the_rest(tmp_path, key):
    member_trainer = save_run(tmp_path, "expert-gru-01", MEMBER_RUN)
    member_state = jax.device_get(member_trainer.init(jax.random.key(0)))
    raw = {"env": ENV, "model": {"graph": _graph(str(tmp_path / "expert-gru-01"))}, "ppo": PPO}
    trainer = Trainer(load_from_dict(raw))
    state = trainer.init(key)
    before = jax.device_get(state.params)
    # the member node starts from (and is) the member run's trained actor
    np.testing.assert_equal(
        jax.tree.map(lambda leaf: leaf[0], before["actor"]["params"]["node_expert"]),
        jax.tree.map(lambda leaf: leaf[0], member_state.params["actor"]["params"]),
    )
    state, _ = trainer.update(state, 2)
    after = jax.device_get(state.params)
    for model in ("actor", "critic"):
        nodes_before, nodes_after = before[model]["params"], after[model]["params"]
        assert _max_change(nodes_before["node_core"], nodes_after["node_core"]) == 0.0
        assert _max_change(nodes_before["node_expert"], nodes_after["node_expert"]) == 0.0
        # the encoder learns through the frozen core; the head learns directly
        assert _max_change(nodes_before["node_enc"], nodes_after["node_enc"]) > 0.0
        assert _max_change(nodes_before["node_head"], nodes_after["node_head"]) > 0.0
