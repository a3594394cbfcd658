"""Typed, validated training configs: JSON files, `--set key=value` overrides, presets.

    from marlax.config import load_config
    config = load_config("run.json", ["ppo.learning_rate=1e-3"], num_seeds=4)
    config.ppo.learning_rate, config.envs[0].num_envs, config.num_updates

See `schema.py` for every field (meaning, unit, valid range) and `load.py` for the format.
"""

from marlax.config.load import config_to_dict, load_config, load_from_dict
from marlax.config.schema import (
    ModelConfig,
    OptimizerConfig,
    PPOConfig,
    RunConfig,
    TaskConfig,
    TrainConfig,
)

__all__ = [
    "ModelConfig",
    "OptimizerConfig",
    "PPOConfig",
    "RunConfig",
    "TaskConfig",
    "TrainConfig",
    "config_to_dict",
    "load_config",
    "load_from_dict",
]
