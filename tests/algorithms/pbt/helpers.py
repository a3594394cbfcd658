"""Tiny PBT configs for fast tests."""

from __future__ import annotations

from typing import Any

from marlax.config import TrainConfig, load_from_dict


def tiny_pbt_raw(
    *, members: int = 4, updates: int = 2, num_envs: int = 4, rollout_length: int = 8, **pbt: Any
) -> dict:
    """The JSON of `updates` PBT updates of `members` tiny PPO members on simple_spread."""
    return {
        "algorithm": "pbt",
        "env": {"name": "simple_spread", "num_envs": num_envs},
        "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
        "ppo": {
            "total_env_steps": num_envs * rollout_length * updates,
            "rollout_length": rollout_length,
            "num_epochs": 2,
            "num_minibatches": 2,
        },
        "pbt": pbt,
        "run": {"num_seeds": members, "log_every": 1, "checkpoint_every": 1},
    }


def tiny_pbt(**settings: Any) -> TrainConfig:
    """`tiny_pbt_raw(**settings)` validated."""
    return load_from_dict(tiny_pbt_raw(**settings))
