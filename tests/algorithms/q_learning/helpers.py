"""Tiny Q-learning configs that compile and run in seconds."""

from __future__ import annotations

from typing import Any

TINY_Q: dict[str, Any] = {
    "algorithm": "qmix",
    "env": {"name": "simple_spread", "num_envs": 4, "params": {"max_steps": 8}},
    "model": {"name": "gru", "core": {"hidden_size": 16}},
    "q_learning": {
        "total_env_steps": 4 * 8 * 12,
        "batch_size": 4,
        "buffer_size": 16,
        "gradient_steps": 2,
        "learning_starts": 64,
        "target_update_interval": 2,
        "mixer_embed_dim": 8,
        "mixer_hypernet_dim": 8,
    },
    "run": {"log_every": 2, "checkpoint_every": 4},
}
"""12 updates of 4 envs x 8 steps; learning starts at update 2."""


def tiny_q(algorithm: str = "qmix", **sections: Any) -> dict[str, Any]:
    """TINY_Q for `algorithm`, with sections updated key by key."""
    raw = {key: dict(value) if isinstance(value, dict) else value for key, value in TINY_Q.items()}
    raw["algorithm"] = algorithm
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw


def tiny_mfq_coverage(mean_field: dict[str, Any], **sections: Any) -> dict[str, Any]:
    """MF-Q on coverage with 8 agents (`model.mean_field` = `mean_field`): 2 envs x 8 steps,
    4 updates, learning from the second."""
    raw = tiny_q(
        "mfq",
        model={"mean_field": mean_field},
        q_learning={
            "total_env_steps": 2 * 8 * 4,
            "batch_size": 2,
            "buffer_size": 8,
            "gradient_steps": 1,
            "learning_starts": 16,
        },
    )
    raw["env"] = {
        "name": "coverage",
        "num_envs": 2,
        "params": {"num_agents": 8, "num_targets": 8, "max_steps": 8},
    }
    for name, values in sections.items():
        raw[name] = {**raw.get(name, {}), **values}
    return raw
