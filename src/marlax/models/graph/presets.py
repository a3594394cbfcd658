"""Named model graphs: `model.graph = "perception_conception_action"`."""

from __future__ import annotations

from typing import Any

PERCEPTION_CONCEPTION_ACTION: dict[str, Any] = {
    "nodes": {
        # perception: conv feature map -> self-attention over its cells -> recurrent core
        "eye": {"module": "conv", "conv_channels": [16]},
        "attention": {"module": "self_attention", "d_model": 32, "num_heads": 2},
        "perception": {"module": "gru", "hidden_size": 64},
        # conception: a planning recurrent module and an attention memory over time, in parallel
        "planner": {"module": "gru", "hidden_size": 64},
        "memory": {
            "module": "transformer",
            "d_model": 32,
            "num_layers": 1,
            "num_heads": 2,
            "context_length": 8,
        },
        # action: a recurrent head on both conception streams, then the policy/value head
        "action": {"module": "gru", "hidden_size": 64},
        "head": {"module": "head"},
    },
    "edges": [
        ["obs", "eye"],
        ["eye", "attention"],
        ["attention", "perception"],
        ["perception", "planner"],
        ["perception", "memory"],
        ["planner", "action"],
        ["memory", "action"],
        ["action", "head"],
    ],
}
"""The perception -> conception (planning + memory) -> action agent for float-image
observations (energy_flow's f32[5, 5, 5] view)."""

GRAPH_PRESETS: dict[str, dict[str, Any]] = {
    "perception_conception_action": PERCEPTION_CONCEPTION_ACTION,
}
