"""Evaluate the four config functions once over their whole domain and keep arrays.

Everything downstream (training tables, deployment) uses these arrays, never the Python
functions. A function whose source mentions `random` (or that is a `module:function`
reference) is treated as stochastic and called `TABULATION_SAMPLES` times per input: its
reward table holds the mean and its transition table the empirical distribution. This is
the "tabulated once from many samples" choice the issue allows; deterministic functions are
tabulated exactly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from marlax.algorithms.meanfield_q.config import FunctionSource, MeanFieldConfig
from marlax.algorithms.meanfield_q.constants import FUNCTION_ARGUMENTS, TABULATION_SAMPLES
from marlax.algorithms.meanfield_q.sandbox import compile_function, resolve_reference
from marlax.errors import ConfigError


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


def _is_stochastic(source: FunctionSource) -> bool:
    return isinstance(source, str) or "random" in "\n".join(source)


def _describe(name: str, inputs: tuple) -> str:
    """The call's inputs by argument name, e.g. `(global_state=2, global_action=1)`."""
    arguments = zip(FUNCTION_ARGUMENTS[name], inputs, strict=True)
    return "(" + ", ".join(f"{arg}={value!r}" for arg, value in arguments) + ")"


def _call(name: str, function: Callable[..., Any], inputs: tuple) -> Any:
    try:
        return function(*inputs)
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
                ok = isinstance(output, int | float) and not isinstance(output, bool)
                if not ok or not math.isfinite(output):
                    raise ConfigError(
                        f"environment.functions.{name}",
                        f"{_describe(name, inputs)} -> {output!r}",
                        "a finite number",
                    )
                table[position] += float(output)
            else:
                hashable = isinstance(output, int | float) and not isinstance(output, bool)
                if not hashable or output not in index_of:
                    raise ConfigError(
                        f"environment.functions.{name}",
                        f"{_describe(name, inputs)} -> {output!r}",
                        f"a value in the state space {list(codomain)}",
                    )
                table[(*position, index_of[output])] += 1.0
    return table / samples


def compile_functions(
    config: MeanFieldConfig, *, seed: int = 0, trust: bool = False
) -> dict[str, Callable[..., Any]]:
    """Compile (or import) the config's four functions; `random` inside is seeded by `seed`."""
    rng = random.Random(seed)
    functions = {}
    for name, source in config.functions.items():
        if isinstance(source, str):
            functions[name] = resolve_reference(name, source, trust=trust)
        else:
            functions[name] = compile_function(name, source, rng=rng, trust=trust)
    return functions


def tabulate_environment(
    config: MeanFieldConfig, *, seed: int = 0, trust: bool = False, samples: int | None = None
) -> EnvTables:
    """Compile the config's functions and tabulate them over their domains.

    Args:
        config: a validated config.
        seed: seeds the `random` the functions see.
        trust: lift the sandbox (`--trust-config`).
        samples: calls per input for stochastic functions (default `TABULATION_SAMPLES`).

    Raises:
        ConfigError: a function that is refused, raises, or leaves its space, with its inputs.
    """
    functions = compile_functions(config, seed=seed, trust=trust)
    samples = TABULATION_SAMPLES if samples is None else samples

    def count(name: str) -> int:
        return samples if _is_stochastic(config.functions[name]) else 1

    local_domain = (config.local_states, config.global_states, config.local_actions)
    global_domain = (config.global_states, config.global_actions)
    return EnvTables(
        local_reward=_tabulate(
            "local_agent_reward",
            functions["local_agent_reward"],
            local_domain,
            count("local_agent_reward"),
            None,
        ),
        global_reward=_tabulate(
            "global_agent_reward",
            functions["global_agent_reward"],
            global_domain,
            count("global_agent_reward"),
            None,
        ),
        local_next=_tabulate(
            "local_agent_transition",
            functions["local_agent_transition"],
            local_domain,
            count("local_agent_transition"),
            config.local_states,
        ),
        global_next=_tabulate(
            "global_agent_transition",
            functions["global_agent_transition"],
            global_domain,
            count("global_agent_transition"),
            config.global_states,
        ),
    )
