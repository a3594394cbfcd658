"""Evaluate the four config functions once over their whole domain and keep arrays.

Everything downstream (training tables, deployment) uses these arrays, never the Python
functions. A function whose source mentions `random` (or that is a `module:function`
reference) is treated as stochastic and called `TABULATION_SAMPLES` times per input: its
reward table holds the mean and its transition table the empirical distribution. This is
the "tabulated once from many samples" choice the issue allows; deterministic functions are
tabulated exactly (the sandbox refuses the mutable defaults and self-calls that could make a
function without `random` stateful). Untrusted configs are compiled and tabulated in one
child process with resource limits (`isolation.py`); `trust=True` runs them in-process.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlax.algorithms.meanfield_q.config import MeanFieldConfig, is_stochastic_source
from marlax.algorithms.meanfield_q.constants import FUNCTION_ARGUMENTS, TABULATION_SAMPLES
from marlax.algorithms.meanfield_q.isolation import Report, SandboxLimits, run_isolated
from marlax.algorithms.meanfield_q.sandbox import compile_function, resolve_reference
from marlax.errors import ConfigError
from marlax.validate import is_number


@dataclass(frozen=True)
class EnvTables:
    """The environment as arrays (indices follow the config's space order).

    Shapes: B local states, A local actions, G global states, C global actions.
    """

    local_reward: np.ndarray
    """f64[B, G, A]: E r_l(s, g, a)."""
    global_reward: np.ndarray
    """f64[G, C]: E r_g(g, c)."""
    local_next: np.ndarray
    """f64[B, G, A, B]: P_l(s' | s, g, a)."""
    global_next: np.ndarray
    """f64[G, C, G]: P_g(g' | g, c)."""

    @property
    def local_deterministic(self) -> bool:
        return bool(np.all(self.local_next.max(axis=-1) == 1.0))

    @property
    def global_deterministic(self) -> bool:
        return bool(np.all(self.global_next.max(axis=-1) == 1.0))


def _describe(name: str, inputs: tuple) -> str:
    """The call's inputs by argument name, e.g. `(global_state=2, global_action=1)`."""
    arguments = zip(FUNCTION_ARGUMENTS[name], inputs, strict=True)
    return "(" + ", ".join(f"{arg}={value!r}" for arg, value in arguments) + ")"


def _shown(value: Any) -> str:
    """repr, cut short; a huge int's repr raises ValueError (int_max_str_digits)."""
    try:
        text = repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to print>"
    return text if len(text) <= 80 else text[:77] + "..."


def _call(name: str, function: Callable[..., Any], inputs: tuple) -> Any:
    try:
        return function(*inputs)
    except MemoryError:
        raise  # the sandbox reports it with its limit
    except Exception as error:  # any failure of user code is reported with its inputs
        raise ConfigError(
            f"environment.functions.{name}",
            _describe(name, inputs),
            f"a result, but it raised {type(error).__name__}: {error}",
        ) from None


def _tabulate(
    name: str,
    function: Callable[..., Any],
    domains: Sequence[Sequence[Any]],
    samples: int,
    codomain: Sequence[Any] | None,
) -> np.ndarray:
    """Reward mean f64[*dims] (codomain None) or transition distribution f64[*dims, |codomain|]."""
    dims = tuple(len(domain) for domain in domains)
    index_of = None if codomain is None else {value: i for i, value in enumerate(codomain)}
    shape = dims if codomain is None else (*dims, len(codomain))
    table = np.zeros(shape, dtype=np.float64)
    for position in np.ndindex(*dims):
        inputs = tuple(domain[i] for domain, i in zip(domains, position, strict=True))
        for _ in range(samples):
            output = _call(name, function, inputs)
            if index_of is None:
                if not is_number(output):
                    raise ConfigError(
                        f"environment.functions.{name}",
                        f"{_describe(name, inputs)} -> {_shown(output)}",
                        "a finite number",
                    )
                table[position] += float(output)
            else:
                hashable = is_number(output)
                if not hashable or output not in index_of:
                    raise ConfigError(
                        f"environment.functions.{name}",
                        f"{_describe(name, inputs)} -> {_shown(output)}",
                        f"a value in the state space {list(codomain)}",
                    )
                table[(*position, index_of[output])] += 1.0
    return table / samples


def _field(name: str) -> str:
    return f"environment.functions.{name}"


def _ignore(field: str) -> None:
    """A `report` for in-process tabulation, where nobody needs progress."""


def compile_functions(
    config: MeanFieldConfig, *, seed: int = 0, trust: bool = False, report: Report = _ignore
) -> dict[str, Callable[..., Any]]:
    """Compile (or import) the config's four functions; `random` inside is seeded by `seed`.

    Untrusted source is only ever compiled inside the limited child (`tabulate_environment`).
    """
    rng = random.Random(seed)
    functions = {}
    for name, source in config.functions.items():
        report(_field(name))
        if isinstance(source, str):
            functions[name] = resolve_reference(name, source, trust=trust)
        else:
            functions[name] = compile_function(name, source, rng=rng, trust=trust)
    return functions


def tabulate_functions(
    config: MeanFieldConfig, seed: int, trust: bool, samples: int, report: Report = _ignore
) -> EnvTables:
    """Compile and tabulate in this process, calling `report` before each function."""
    functions = compile_functions(config, seed=seed, trust=trust, report=report)
    local_domain = (config.local_states, config.global_states, config.local_actions)
    global_domain = (config.global_states, config.global_actions)
    codomains = {
        "local_agent_reward": (local_domain, None),
        "global_agent_reward": (global_domain, None),
        "local_agent_transition": (local_domain, config.local_states),
        "global_agent_transition": (global_domain, config.global_states),
    }
    tables = {}
    for name, (domains, codomain) in codomains.items():
        report(_field(name))
        count = samples if is_stochastic_source(config.functions[name]) else 1
        tables[name] = _tabulate(name, functions[name], domains, count, codomain)
    return EnvTables(
        local_reward=tables["local_agent_reward"],
        global_reward=tables["global_agent_reward"],
        local_next=tables["local_agent_transition"],
        global_next=tables["global_agent_transition"],
    )


def tabulate_environment(
    config: MeanFieldConfig,
    *,
    seed: int = 0,
    trust: bool = False,
    samples: int | None = None,
    limits: SandboxLimits | None = None,
) -> EnvTables:
    """Compile the config's functions and tabulate them over their domains.

    Untrusted configs are compiled and called in one child process under `limits`
    (`isolation.py`); `trust=True` runs them here, unlimited.

    Args:
        config: a validated config.
        seed: seeds the `random` the functions see.
        trust: lift the sandbox and its limits (`--trust-config`).
        samples: calls per input for stochastic functions (default `TABULATION_SAMPLES`).
        limits: the child's CPU, memory and wall-clock limits (default
            `isolation.DEFAULT_LIMITS`).

    Raises:
        ConfigError: a function that is refused, raises, leaves its space or exceeds a
            limit, naming `environment.functions.<name>` (with its inputs where known).
    """
    samples = TABULATION_SAMPLES if samples is None else samples
    if trust:
        return tabulate_functions(config, seed, True, samples)
    task = functools.partial(tabulate_functions, config, seed, False, samples)
    return run_isolated(task, limits)
