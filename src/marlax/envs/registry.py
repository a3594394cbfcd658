"""Environment registry: `make(name, **params)` builds a registered environment.

Entries are "module:Class" strings so that importing marlax does not import
(and trace-check) every environment. A name "jaxmarl:<Env>" builds JaxMARL's env through
`marlax.envs.adapters.from_jaxmarl(<Env>, **params)` (the [jaxmarl] extra), so configs can
train on SMAX: `{"name": "jaxmarl:HeuristicEnemySMAX", "params": {"scenario": "3m"}}`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from typing import Any

from marlax.envs.base import Env
from marlax.errors import ConfigError

_REGISTRY: dict[str, str] = {
    "nback": "marlax.envs.nback.env:NBack",
    "grid_return": "marlax.envs.grid_return.env:GridReturn",
    "scouts": "marlax.envs.scouts.env:Scouts",
    "traveling_salesman": "marlax.envs.traveling_salesman.env:TravelingSalesman",
    "king_of_the_hill": "marlax.envs.king_of_the_hill.env:KingOfTheHill",
    "battle": "marlax.envs.battle.env:Battle",
    "simple_spread": "marlax.envs.simple_spread.env:SimpleSpread",
    "coverage": "marlax.envs.coverage.env:Coverage",
    "energy_flow": "marlax.envs.energy_flow.env:EnergyFlow",
    "navigation_2d": "marlax.envs.meta.navigation:Navigation2D",
    "velocity_point": "marlax.envs.meta.velocity:VelocityPoint",
    "bandit_k": "marlax.envs.meta.bandit:BanditK",
    "spread_family": "marlax.envs.meta.spread_family:SpreadFamily",
    "popgym_repeat_previous": "marlax.envs.popgym.repeat_previous:RepeatPrevious",
    "popgym_repeat_first": "marlax.envs.popgym.repeat_first:RepeatFirst",
    "popgym_count_recall": "marlax.envs.popgym.count_recall:CountRecall",
    "popgym_autoencode": "marlax.envs.popgym.autoencode:Autoencode",
    "popgym_stateless_cartpole": "marlax.envs.popgym.stateless_cartpole:StatelessCartPole",
    "popgym_noisy_stateless_cartpole": (
        "marlax.envs.popgym.stateless_cartpole:NoisyStatelessCartPole"
    ),
}


JAXMARL_PREFIX = "jaxmarl:"
"""Env names with this prefix are JaxMARL envs, built by `from_jaxmarl`."""
GYMNAX_PREFIX = "gymnax:"
"""Env names with this prefix are single-agent gymnax envs, built by `from_gymnax`."""


def is_env_name(name: Any) -> bool:
    """A registered env name, "jaxmarl:<Env>" or "gymnax:<Env>"."""
    if not isinstance(name, str):
        return False
    return name in _REGISTRY or any(
        name.startswith(prefix) and len(name) > len(prefix)
        for prefix in (JAXMARL_PREFIX, GYMNAX_PREFIX)
    )


def register(name: str, target: str | type[Env]) -> None:
    """Register an environment class (or a "module:Class" string) under `name`."""
    if isinstance(target, type):
        target = f"{target.__module__}:{target.__qualname__}"
    _REGISTRY[name] = target


def list_envs() -> list[str]:
    """Registered environment names, sorted."""
    return sorted(_REGISTRY)


def env_class(name: str) -> type[Env]:
    """The class registered under `name`; a typo gets the valid names in the error."""
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError("env", name, f"one of {', '.join(list_envs())}{hint}")
    module_name, class_name = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def env_parameters(name: str) -> dict[str, Any]:
    """Settings the env `name` accepts, with their defaults."""
    cls = env_class(name)
    return {
        field.name: field.default
        for field in dataclasses.fields(cls)
        if field.init and field.default is not dataclasses.MISSING
    }


def make(name: str, **params: Any) -> Env:
    """Build the environment `name` with its static settings.

    Raises:
        ConfigError: unknown name, unknown setting, or a setting out of range.
    """
    if isinstance(name, str) and name.startswith(JAXMARL_PREFIX):
        from marlax.envs.adapters.jaxmarl import from_jaxmarl

        return from_jaxmarl(name.removeprefix(JAXMARL_PREFIX), **params)
    if isinstance(name, str) and name.startswith(GYMNAX_PREFIX):
        from marlax.envs.adapters.gymnax import from_gymnax

        return from_gymnax(name.removeprefix(GYMNAX_PREFIX), **params)
    cls = env_class(name)
    known = env_parameters(name)
    for key in params:
        if key not in known:
            close = difflib.get_close_matches(key, list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(
                f"{name}.{key}", params[key], f"a setting of {name}: {', '.join(known)}{hint}"
            )
    return cls(**params)
