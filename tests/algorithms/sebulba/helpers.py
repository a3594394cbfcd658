"""A tiny sebulba config: simple_spread through to_pettingzoo, 2 actors."""

from __future__ import annotations

from typing import Any

from marlax.config import TrainConfig, load_from_dict

TINY_MLP = {"name": "mlp", "core": {"hidden_sizes": [16]}}


def tiny_sebulba(
    runs_dir: str, updates: int = 6, model: dict[str, Any] | None = None, **sebulba: Any
) -> TrainConfig:
    """`updates` updates of 8 steps x 4 envs (2 per actor) on 5-step simple_spread episodes."""
    return load_from_dict(
        {
            "algorithm": "sebulba",
            "env": {"name": "simple_spread", "num_envs": 4, "params": {"max_steps": 5}},
            "model": model or TINY_MLP,
            "ppo": {
                "total_env_steps": updates * 8 * 4,
                "rollout_length": 8,
                "num_epochs": 1,
                "num_minibatches": 2,
            },
            "sebulba": {"num_actors": 2, "queue_size": 1, **sebulba},
            "run": {"log_every": 2, "checkpoint_every": 2, "runs_dir": runs_dir},
        }
    )
