"""Load and validate a mean-field config (the published JSON format, accepted unchanged)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marlax.algorithms.meanfield_q.budget import (
    SpaceSizes,
    check_deployment,
    check_environment,
    check_tables,
    check_training,
    table_size,
    training_draws,
)
from marlax.algorithms.meanfield_q.constants import FUNCTION_NAMES, SEMANTICS, SIMULATION_BOUNDS
from marlax.errors import ConfigError
from marlax.validate import (
    is_int,
    is_number,
    require,
    require_bool,
    require_choice,
    require_fraction,
    require_int,
)

Value = int | float
FunctionSource = tuple[str, ...] | str
"""Source lines of a `def`, or a `"module:function"` reference."""


@dataclass(frozen=True)
class SimulationConfig:
    """The `simulation` section."""

    horizon: int
    """Deployment steps per run (bounds in `constants.SIMULATION_BOUNDS`, as for each int)."""
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

    @property
    def sizes(self) -> SpaceSizes:
        """The sizes of the four spaces."""
        return SpaceSizes(
            num_local_states=len(self.local_states),
            num_local_actions=len(self.local_actions),
            num_global_states=len(self.global_states),
            num_global_actions=len(self.global_actions),
        )


def is_stochastic_source(source: FunctionSource) -> bool:
    """Whether a function may be random: its source mentions `random`, or it is imported.

    Such functions are tabulated from many calls; the others are called once per input.
    """
    return isinstance(source, str) or "random" in "\n".join(source)


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


def _space(raw: Any, field: str) -> tuple[Value, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(field, raw, "a non-empty list of numbers")
    for value in raw:
        if not is_number(value):
            raise ConfigError(field, raw, "a non-empty list of numbers")
    if len(set(raw)) != len(raw):
        raise ConfigError(field, raw, "distinct values")
    return tuple(raw)


def _bounded_int(raw: Mapping, key: str) -> int:
    low, high = SIMULATION_BOUNDS[key]
    return require_int(f"simulation.{key}", raw[key], low, high)


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
    return SimulationConfig(
        horizon=_bounded_int(raw, "horizon"),
        num_local_agents=_bounded_int(raw, "num_local_agents"),
        monte_carlo_samples=_bounded_int(raw, "monte_carlo_samples"),
        discount_factor=require_fraction("simulation.discount_factor", raw["discount_factor"]),
        training_steps=_bounded_int(raw, "training_steps"),
        deployment_runs=_bounded_int(raw, "deployment_runs"),
    )


def _visualization(raw: Any) -> tuple[bool, str]:
    raw = _mapping(raw, "visualization", ("save_plot", "plot_filename"), ())
    save_plot = raw.get("save_plot", True)
    require_bool("visualization.save_plot", save_plot)
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
    config = MeanFieldConfig(
        global_states=agents["global_agent"][0],
        global_actions=agents["global_agent"][1],
        local_states=agents["local_agent"][0],
        local_actions=agents["local_agent"][1],
        functions=functions,
        simulation=_simulation(raw["simulation"]),
        save_plot=save_plot,
        plot_filename=plot_filename,
    )
    check_environment(config.sizes)
    return config


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


def validate_ks(
    ks: tuple[int, ...] | None, config: MeanFieldConfig, semantics: str | None = None
) -> tuple[int, ...]:
    """The k values to run: the given ones, or 2..n; each in [2, n] and within the budget.

    Deployment work is checked for every k; with `semantics`, the Q-table size and the
    training work are too, so a run that would fail at a late k fails before the first.

    Raises:
        ConfigError: naming `k` or the simulation field to lower.
    """
    n = config.simulation.num_local_agents
    if ks is None or len(ks) == 0:
        ks = range(2, n + 1)  # lazily: the budget stops a huge n at its first k too large
    for k in ks:
        require(is_int(k) and 2 <= k <= n, "k", k, f"an integer in [2, num_local_agents={n}]")
        _check_budget(int(k), config, semantics)
    return tuple(int(k) for k in ks)


def _check_budget(k: int, config: MeanFieldConfig, semantics: str | None) -> None:
    simulation = config.simulation
    sizes = config.sizes
    check_deployment(
        k,
        simulation.num_local_agents,
        simulation.horizon,
        simulation.deployment_runs,
        sizes.num_local_states,
    )
    if semantics is None:
        return
    require_choice("semantics", semantics, SEMANTICS)
    _, entries = table_size(k, sizes, semantics)
    local_stochastic = is_stochastic_source(config.functions["local_agent_transition"])
    stored, draws = training_draws(semantics, simulation.monte_carlo_samples, local_stochastic)
    check_tables(k, entries, stored)
    check_training(k, entries, simulation.training_steps, draws)
