"""`--set key=value` overrides: JSON values (`width=30`, `continuous_actions=true`)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from marlax.errors import ConfigError


def parse_settings(items: Iterable[str]) -> dict[str, Any]:
    """`["width=30", "name=foo"]` -> `{"width": 30, "name": "foo"}`.

    Values are parsed as JSON; a value that is not JSON stays a string, so
    `--set mode=fast` needs no quoting. A repeated key keeps its last value.

    Raises:
        ConfigError: an item without `=` or with an empty key.
    """
    settings: dict[str, Any] = {}
    for item in items:
        name, separator, raw_value = item.partition("=")
        name = name.strip()
        if not separator or not name:
            raise ConfigError("--set", item, "key=value with a JSON value, e.g. width=30")
        try:
            settings[name] = json.loads(raw_value)
        except json.JSONDecodeError:
            settings[name] = raw_value
    return settings
