"""Read a training config: JSON file or dict, `--set` overrides, strict validation.

    config = load_config("my_run.json", ["ppo.learning_rate=1e-3"], num_seeds=4)
    config = load_config(None)                      # presets/default.json
    load_from_dict(config_to_dict(config)) == config

The JSON has the learner's name `algorithm` ("ppo" by default), the sections `envs` (a list
of tasks; `env: {...}` is shorthand for one), `model`, `ppo`, `q_learning`, `off_policy`,
`optimizer` and `run`; each key of a section is a field of its dataclass in
`schema.py`. Every problem is a `ConfigError` whose field is the full dotted path
(`ppo.learning_rate`, `envs.1.params.view_size`).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from marlax.config.evolution_strategies import ESConfig
from marlax.config.maml import MAMLConfig
from marlax.config.overrides import apply_overrides
from marlax.config.population import PBTConfig
from marlax.config.schema import (
    ModelConfig,
    OffPolicyConfig,
    OptimizerConfig,
    PPOConfig,
    QLearningConfig,
    RunConfig,
    TaskConfig,
    TrainConfig,
)
from marlax.config.sebulba import SebulbaConfig
from marlax.config.validators import suggestion
from marlax.config.varibad import VariBADConfig
from marlax.errors import ConfigError

SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "ppo": PPOConfig,
    "q_learning": QLearningConfig,
    "off_policy": OffPolicyConfig,
    "es": ESConfig,
    "pbt": PBTConfig,
    "maml": MAMLConfig,
    "varibad": VariBADConfig,
    "sebulba": SebulbaConfig,
    "optimizer": OptimizerConfig,
    "run": RunConfig,
}
TOP_LEVEL_KEYS = ("env", "envs", "algorithm", *SECTIONS)
DEFAULT_PRESET = "default.json"


def read_json(path: str | Path) -> Any:
    """The JSON value in the file at `path`; a missing file or a syntax error names `config`."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError("config", str(path), f"a readable JSON file ({error.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            "config",
            str(path),
            f"valid JSON ({error.msg} at line {error.lineno} column {error.colno})",
        ) from None


def read_preset(name: str = DEFAULT_PRESET) -> Any:
    """The JSON of a preset shipped in `marlax/config/presets/`."""
    preset = resources.files("marlax.config") / "presets" / name
    return json.loads(preset.read_text())


def load_config(
    path: str | Path | None,
    overrides: Sequence[str] = (),
    *,
    num_seeds: int | None = None,
) -> TrainConfig:
    """Load, override and validate a training config.

    Args:
        path: a JSON file, or None for the built-in default (`presets/default.json`).
        overrides: `key=value` strings (dotted keys), applied in order before validation.
        num_seeds: the CLI's `--seeds`; replaces `run.num_seeds` when given.

    Raises:
        ConfigError: a missing or broken file, a bad override, or an invalid config.
    """
    raw = read_preset() if path is None else read_json(path)
    if num_seeds is not None:
        overrides = (*overrides, f"run.num_seeds={json.dumps(num_seeds)}")
    return load_from_dict(raw, overrides)


def load_from_dict(raw: Any, overrides: Sequence[str] = ()) -> TrainConfig:
    """Validate a JSON-shaped dict (not modified) after applying `overrides`."""
    if not isinstance(raw, dict):
        raise ConfigError("config", raw, "a JSON object at the top level")
    raw = normalize_tasks(copy.deepcopy(raw))
    apply_overrides(raw, overrides)
    _check_keys(raw, TOP_LEVEL_KEYS, "")
    _refuse_mfq_without_mean_field(raw)
    if "envs" not in raw:
        raise ConfigError("envs", None, 'a task: "env": {...} or "envs": [{...}, ...]')
    tasks = raw["envs"]
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError("envs", tasks, "a non-empty list of task objects")
    sections = {name: _build(cls, raw.get(name, {}), name) for name, cls in SECTIONS.items()}
    envs = tuple(_build(TaskConfig, task, f"envs.{i}") for i, task in enumerate(tasks))
    algorithm = {"algorithm": raw["algorithm"]} if "algorithm" in raw else {}
    return TrainConfig(envs=envs, **algorithm, **sections)


def _refuse_mfq_without_mean_field(raw: dict[str, Any]) -> None:
    """MF-Q with an explicit `model.mean_field = null` is refused: MF-Q without a mean action
    is IQL, and runs saved before MF-Q read `MeanFieldEnv` (their configs say null) ordered
    the Q-net input differently, so their checkpoints would load and act on permuted inputs.
    Unset means the whole team ({})."""
    model = raw.get("model")
    if raw.get("algorithm") != "mfq" or not isinstance(model, dict):
        return
    if "mean_field" in model and model["mean_field"] is None:
        raise ConfigError(
            "model.mean_field",
            None,
            '{} (the whole team) or {"radius": r[, "k": k]} for algorithm mfq (MF-Q without a '
            "mean action is iql; a run saved with null predates MF-Q on MeanFieldEnv: retrain it)",
        )


def normalize_tasks(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn the shorthand `"env": {...}` into `"envs": [{...}]` (in place)."""
    if "env" in raw and "envs" in raw:
        raise ConfigError(
            "env", raw["env"], 'either "env" (one task) or "envs" (a list of tasks), not both'
        )
    if "env" in raw:
        task = raw.pop("env")
        if not isinstance(task, dict):
            raise ConfigError("env", task, 'a task object (use "envs" for a list of tasks)')
        raw["envs"] = [task]
    return raw


def _check_keys(raw: dict[str, Any], valid: Sequence[str], prefix: str) -> None:
    """Unknown keys list the valid ones and suggest the closest."""
    for key, value in raw.items():
        if key not in valid:
            where = prefix.rstrip(".") or "the top level"
            raise ConfigError(
                f"{prefix}{key}",
                value,
                f"a key of {where}: {', '.join(valid)}{suggestion(str(key), valid)}",
            )


def _build(cls: type, raw: Any, path: str) -> Any:
    """`cls(**raw)` with unknown or missing keys and field errors named `path.<field>`."""
    if not isinstance(raw, dict):
        raise ConfigError(path, raw, "a JSON object")
    fields = [field for field in dataclasses.fields(cls) if field.init]
    _check_keys(raw, [field.name for field in fields], f"{path}.")
    missing = dataclasses.MISSING
    for field in fields:
        required = field.default is missing and field.default_factory is missing
        if required and field.name not in raw:
            raise ConfigError(f"{path}.{field.name}", None, "a value (the key is missing)")
    try:
        return cls(**raw)
    except ConfigError as error:
        raise ConfigError(f"{path}.{error.field}", error.value, error.expected) from None


def config_to_dict(config: TrainConfig) -> dict[str, Any]:
    """A JSON-able dict of every field (tuples become lists) that `load_from_dict` reads back."""
    return {
        "algorithm": config.algorithm,
        "envs": [_jsonable(dataclasses.asdict(task)) for task in config.envs],
        **{name: _jsonable(dataclasses.asdict(getattr(config, name))) for name in SECTIONS},
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


__all__ = [
    "config_to_dict",
    "load_config",
    "load_from_dict",
    "normalize_tasks",
    "read_json",
    "read_preset",
]
