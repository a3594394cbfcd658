"""A tiny ES config for the tests: 2-agent simple_spread, 5-step episodes, a small MLP."""

from __future__ import annotations

from typing import Any

from marlax.config import TrainConfig, load_from_dict


def tiny_es_raw(**es: Any) -> dict:
    """The JSON of a tiny ES run (4 generations of open_es unless `es` says otherwise)."""
    return {
        "algorithm": "es",
        "env": {
            "name": "simple_spread",
            "num_envs": 2,
            "params": {"num_agents": 2, "max_steps": 5},
        },
        "model": {"name": "mlp", "encoder": {"hidden_sizes": [8]}, "core": {"hidden_sizes": [8]}},
        "es": {"population_size": 4, "total_env_steps": 4 * 5 * 2 * 5, **es},
        "run": {"log_every": 1, "checkpoint_every": 2},
    }


def tiny_es(**es: Any) -> TrainConfig:
    return load_from_dict(tiny_es_raw(**es))
