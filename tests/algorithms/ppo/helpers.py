"""Tiny training configs for fast tests."""

from __future__ import annotations

from typing import Any

from marlax.config import TrainConfig, load_from_dict


def tiny_config(
    env: str = "simple_spread",
    model: str = "mlp",
    *,
    num_envs: int = 4,
    rollout_length: int = 8,
    updates: int = 2,
    env_params: dict | None = None,
    core: dict | None = None,
    **sections: Any,
) -> TrainConfig:
    """A config of `updates` PPO updates on `num_envs` envs with small networks."""
    core = core if core is not None else _small_core(model)
    raw = {
        "env": {"name": env, "num_envs": num_envs, "params": env_params or {}},
        "model": {"name": model, "core": core},
        "ppo": {
            "total_env_steps": num_envs * rollout_length * updates,
            "rollout_length": rollout_length,
            "num_epochs": 2,
            "num_minibatches": 2,
        },
        "run": {"log_every": 1, "checkpoint_every": 1},
    }
    for section, values in sections.items():
        raw.setdefault(section, {}).update(values)
    return load_from_dict(raw)


def _small_core(model: str) -> dict:
    return {
        "mlp": {"hidden_sizes": [16]},
        "gru": {"hidden_size": 16},
        "transformer": {"d_model": 16, "num_layers": 1, "num_heads": 2, "context_length": 4},
        "ssm": {"d_model": 16, "num_layers": 1, "state_size": 4},
    }[model]
