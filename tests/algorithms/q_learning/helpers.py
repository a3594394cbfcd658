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
