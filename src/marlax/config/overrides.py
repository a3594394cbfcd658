"""`--set key=value` overrides, applied to the raw JSON dict before validation.

    apply_overrides(raw, ["ppo.learning_rate=1e-3", "env.params.num_agents=4", "run.name=foo"])

The key is a dotted path; numeric parts index lists (`envs.1.num_envs`). `env.` means
`envs.0.` in a single-task config. The value is parsed as JSON when it parses (numbers,
true/false, null, lists, objects), otherwise it is taken as a string. Missing objects
along the path are created (unknown keys are caught by validation); a missing list
index or a path through a value that is not an object is a `ConfigError` naming the
override.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from marlax.errors import ConfigError


def parse_value(text: str) -> Any:
    """The JSON value of `text`, or `text` itself when it is not JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def split_override(override: str) -> tuple[list[str], Any]:
    """'a.b.c=v' -> (['a', 'b', 'c'], parsed v)."""
    key, equals, text = override.partition("=")
    parts = key.strip().split(".")
    if not equals or not all(parts):
        raise ConfigError(
            "--set", override, "key=value with a dotted key, e.g. ppo.learning_rate=1e-3"
        )
    return parts, parse_value(text)


def _single_task_path(raw: dict[str, Any], parts: list[str], override: str) -> list[str]:
    """Rewrite `env.…` to `envs.0.…` (raw already holds `envs`, see `normalize_tasks`)."""
    if parts[0] != "env":
        return parts
    raw.setdefault("envs", [{}])
    tasks = raw["envs"]
    if isinstance(tasks, list) and len(tasks) != 1:
        raise ConfigError(
            ".".join(parts),
            override,
            f"envs.<i>.{'.'.join(parts[1:]) or '…'}: this config has {len(tasks)} tasks",
        )
    return ["envs", "0", *parts[1:]]


def set_path(raw: dict[str, Any], parts: list[str], value: Any, override: str) -> None:
    """Set `raw[parts[0]][parts[1]]… = value`, creating missing objects on the way."""
    node: Any = raw
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise ConfigError(
                    here, override, f"an index 0..{len(node) - 1} of a list of {len(node)}"
                )
            index: int | str = int(part)
        elif isinstance(node, dict):
            index = part
            if not last and part not in node:
                if parts[depth + 1].isdigit():
                    raise ConfigError(here, override, "an existing list to index into")
                node[part] = {}
        else:
            parent = ".".join(parts[:depth]) or "config"
            raise ConfigError(here, override, f"a path into an object, but {parent} is {node!r}")
        if last:
            node[index] = value
        else:
            node = node[index]


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply every `key=value` in order to `raw` (in place) and return it."""
    for override in overrides:
        parts, value = split_override(override)
        set_path(raw, _single_task_path(raw, parts, override), value, override)
    return raw
