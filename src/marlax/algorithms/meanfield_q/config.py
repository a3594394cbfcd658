"""Load and validate a mean-field config (the published JSON format, accepted unchanged)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marlax.algorithms.meanfield_q.constants import FUNCTION_NAMES
from marlax.errors import ConfigError

Value = int | float
FunctionSource = tuple[str, ...] | str
"""Source lines of a `def`, or a `"module:function"` reference."""


@dataclass(frozen=True)
class SimulationConfig:
    """The `simulation` section."""

    horizon: int
    """Deployment steps per run (>= 1)."""
    num_local_agents: int
    """n, the local agents at deployment (>= 2)."""
    monte_carlo_samples: int
    """Next-state samples per state-action pair and sweep (>= 1)."""
    discount_factor: float
    """gamma in [0, 1)."""
    training_steps: int
    """Value-iteration sweeps (>= 1)."""
    deployment_runs: int
    """Independent deployment runs per k (>= 1)."""


@dataclass(frozen=True)
class MeanFieldConfig:
    """A validated mean-field environment and simulation."""

    global_states: tuple[Value, ...]
    """S_g, in config order."""
    global_actions: tuple[Value, ...]
    """A_g."""
    local_states: tuple[Value, ...]
    """S_l."""
    local_actions: tuple[Value, ...]
    """A_l."""
    functions: Mapping[str, FunctionSource]
    """The four functions by name (see `constants.FUNCTION_NAMES`)."""
    simulation: SimulationConfig
    save_plot: bool = True
    """Write the cumulative-reward plot."""
    plot_filename: str = "cumulative_rewards.png"
    """Plot file name inside the output folder (no directories)."""


def _mapping(raw: Any, field: str, keys: tuple[str, ...], required: tuple[str, ...]) -> dict:
    if not isinstance(raw, dict):
        raise ConfigError(field or "config", raw, "a JSON object")
    for key in raw:
        if key not in keys:
            raise ConfigError(f"{field}.{key}".lstrip("."), raw[key], f"one of {list(keys)}")
    for key in required:
        if key not in raw:
            raise ConfigError(f"{field}.{key}".lstrip("."), None, "a value (the key is missing)")
    return raw


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _space(raw: Any, field: str) -> tuple[Value, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(field, raw, "a non-empty list of numbers")
    for value in raw:
        if not _is_number(value):
            raise ConfigError(field, raw, "a non-empty list of numbers")
    if len(set(raw)) != len(raw):
        raise ConfigError(field, raw, "distinct values")
    return tuple(raw)


def _integer(raw: Mapping, section: str, key: str, minimum: int) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{section}.{key}", value, f"an integer >= {minimum}")
    return value


def _function(raw: Any, name: str) -> FunctionSource:
    field = f"environment.functions.{name}"
    if isinstance(raw, str):
        if ":" not in raw:
            raise ConfigError(field, raw, "a list of source lines or 'module:function'")
        return raw
    if not isinstance(raw, list) or not raw or not all(isinstance(line, str) for line in raw):
        raise ConfigError(field, raw, "a non-empty list of source lines or 'module:function'")
    return tuple(raw)


def _simulation(raw: Any) -> SimulationConfig:
    keys = (
        "horizon",
        "num_local_agents",
        "monte_carlo_samples",
        "discount_factor",
        "training_steps",
        "deployment_runs",
    )
    raw = _mapping(raw, "simulation", keys, keys)
    gamma = raw["discount_factor"]
    if not _is_number(gamma) or not 0.0 <= gamma < 1.0:
        raise ConfigError("simulation.discount_factor", gamma, "a number in [0, 1)")
    return SimulationConfig(
        horizon=_integer(raw, "simulation", "horizon", 1),
        num_local_agents=_integer(raw, "simulation", "num_local_agents", 2),
        monte_carlo_samples=_integer(raw, "simulation", "monte_carlo_samples", 1),
        discount_factor=float(gamma),
        training_steps=_integer(raw, "simulation", "training_steps", 1),
        deployment_runs=_integer(raw, "simulation", "deployment_runs", 1),
    )


def _visualization(raw: Any) -> tuple[bool, str]:
    raw = _mapping(raw, "visualization", ("save_plot", "plot_filename"), ())
    save_plot = raw.get("save_plot", True)
    if not isinstance(save_plot, bool):
        raise ConfigError("visualization.save_plot", save_plot, "true or false")
    filename = raw.get("plot_filename", "cumulative_rewards.png")
    bad = not isinstance(filename, str) or not filename or filename.startswith(".")
    if bad or "/" in filename or "\\" in filename or not filename.endswith(".png"):
        raise ConfigError("visualization.plot_filename", filename, "a plain file name ending .png")
    return save_plot, filename


def parse_config(raw: Any) -> MeanFieldConfig:
    """Validate a config already decoded from JSON.

    Raises:
        ConfigError: naming the first bad field, its value and what was expected.
    """
    sections = ("environment", "simulation", "visualization")
    raw = _mapping(raw, "", sections, ("environment", "simulation"))
    environment = _mapping(
        raw["environment"],
        "environment",
        ("global_agent", "local_agent", "functions"),
        ("global_agent", "local_agent", "functions"),
    )
    agents = {}
    for agent in ("global_agent", "local_agent"):
        section = f"environment.{agent}"
        spaces = ("state_space", "action_space")
        agent_raw = _mapping(environment[agent], section, spaces, spaces)
        agents[agent] = [_space(agent_raw[key], f"{section}.{key}") for key in spaces]
    functions_raw = _mapping(
        environment["functions"], "environment.functions", FUNCTION_NAMES, FUNCTION_NAMES
    )
    functions = {name: _function(functions_raw[name], name) for name in FUNCTION_NAMES}
    save_plot, plot_filename = _visualization(raw.get("visualization", {}))
    return MeanFieldConfig(
        global_states=agents["global_agent"][0],
        global_actions=agents["global_agent"][1],
        local_states=agents["local_agent"][0],
        local_actions=agents["local_agent"][1],
        functions=functions,
        simulation=_simulation(raw["simulation"]),
        save_plot=save_plot,
        plot_filename=plot_filename,
    )


def load_config(path: str | Path) -> MeanFieldConfig:
    """Read and validate a JSON config file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError("config", str(path), f"a readable file ({error.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            "config", str(path), f"valid JSON (line {error.lineno}: {error.msg})"
        ) from None
    return parse_config(raw)


def validate_ks(ks: tuple[int, ...] | None, config: MeanFieldConfig) -> tuple[int, ...]:
    """The k values to train: the given ones, or 2..n; each must lie in [2, n]."""
    n = config.simulation.num_local_agents
    if ks is None or len(ks) == 0:
        return tuple(range(2, n + 1))
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= n:
            raise ConfigError("k", k, f"an integer in [2, num_local_agents={n}]")
    return tuple(ks)
