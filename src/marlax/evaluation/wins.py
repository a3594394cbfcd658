"""Which environments define a win, and how to read one from an episode's last state.

Only JaxMARL's SMAX does (through `marlax.envs.adapters.from_jaxmarl`, "SMAX" or
"HeuristicEnemySMAX"). JaxMARL's `SMAXLogWrapper` counts an episode as won when the last
step's reward is >= 1.0, i.e. when SMAX paid its `won_battle_bonus`; SMAX pays it when every
enemy unit is dead and at least one ally is alive (`SMAX.compute_reward`). `smax_won` reads
that condition from the state itself, so it holds whatever bonus the env was built with.
Every other env has no win: `win_condition(env)` is None, and the win rate is reported as n/a.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from marlax.envs.adapters.jaxmarl import JaxMARLEnv
from marlax.envs.base import Env

WinCondition = Callable[[Any], jax.Array]
"""`won(state) -> bool[]` on an episode's last (unbatched) env State."""


def win_condition(env: Env) -> WinCondition | None:
    """The env's win test, or None when the env defines no win."""
    if isinstance(env, JaxMARLEnv) and _smax_of(env.jaxmarl_env) is not None:
        num_allies = int(_smax_of(env.jaxmarl_env).num_allies)
        return lambda state: smax_won(_smax_state(state.env_state), num_allies)
    return None


def smax_won(smax_state: Any, num_allies: int) -> jax.Array:
    """bool[]: all enemies dead and an ally alive (the allies' win in `SMAX.compute_reward`).

    Args:
        smax_state: a SMAX `State` (its `unit_alive: bool[allies + enemies]`, allies first).
        num_allies: how many of the units are allies.
    """
    alive = jnp.asarray(smax_state.unit_alive, bool)
    return jnp.all(~alive[num_allies:]) & jnp.any(alive[:num_allies])


def _smax_of(jaxmarl_env: Any) -> Any:
    """The SMAX env inside a JaxMARL env (itself, or a heuristic-enemy wrapper's `_env`)."""
    from jaxmarl.environments.smax.smax_env import SMAX  # present: the adapter built the env

    for candidate in (jaxmarl_env, getattr(jaxmarl_env, "_env", None)):
        if isinstance(candidate, SMAX):
            return candidate
    return None


def _smax_state(env_state: Any) -> Any:
    """The SMAX State in a JaxMARL env state (the heuristic-enemy wrapper nests it as `.state`)."""
    return env_state if hasattr(env_state, "unit_alive") else env_state.state
