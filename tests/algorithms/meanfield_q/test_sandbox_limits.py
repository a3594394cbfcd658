"""Runaway config code stops at the child's limits; stateful or recursive code is refused."""

from __future__ import annotations

import random
import resource

import numpy as np
import pytest

from marlax.algorithms.meanfield_q import parse_config, tabulate_environment
from marlax.algorithms.meanfield_q.isolation import SandboxLimits
from marlax.algorithms.meanfield_q.sandbox import compile_function
from marlax.errors import ConfigError

from .helpers import STOCHASTIC_TRANSITION, small_config_dict

FAST_LIMITS = SandboxLimits(cpu_seconds=1, memory_bytes=256 << 20, wall_seconds=60.0)
"""Small enough that each runaway case stops within a few seconds."""

HEADER = "def global_agent_reward(global_state, global_action):"
RUNAWAY_BODIES = {
    "power tower": ["    return 10 ** 10 ** 10"],
    "factorial": ["    import math", "    return math.factorial(10 ** 9)"],
    "format width": ["    return f'{global_state!r:>{10**9}}'"],
}


def _with_global_reward(lines):
    raw = small_config_dict()
    raw["environment"]["functions"]["global_agent_reward"] = lines
    return parse_config(raw)


@pytest.mark.parametrize("body", RUNAWAY_BODIES.values(), ids=RUNAWAY_BODIES.keys())
def test_runaway_function_stops_at_a_limit_and_is_named(body):
    limits_before = [
        resource.getrlimit(limit) for limit in (resource.RLIMIT_CPU, resource.RLIMIT_AS)
    ]
    with pytest.raises(ConfigError) as error:
        tabulate_environment(_with_global_reward([HEADER, *body]), limits=FAST_LIMITS)
    assert error.value.field == "environment.functions.global_agent_reward"
    assert "CPU-time limit (1 s" in error.value.expected or "memory limit (256 MiB)" in str(
        error.value
    )
    # the limits bound the child only
    after = [resource.getrlimit(limit) for limit in (resource.RLIMIT_CPU, resource.RLIMIT_AS)]
    assert after == limits_before


def test_wall_clock_limit_kills_a_child_that_is_still_computing():
    limits = SandboxLimits(cpu_seconds=60, memory_bytes=256 << 20, wall_seconds=1.0)
    with pytest.raises(ConfigError, match="wall-clock limit") as error:
        tabulate_environment(
            _with_global_reward([HEADER, *RUNAWAY_BODIES["factorial"]]), limits=limits
        )
    assert error.value.field == "environment.functions.global_agent_reward"


def test_exponential_self_recursion_is_refused_before_it_runs():
    lines = [
        HEADER,
        "    if global_action <= 0:",
        "        return 1.0",
        "    return global_agent_reward(global_state, global_action - 1) + global_agent_reward(",
        "        global_state, global_action - 1)",
    ]
    with pytest.raises(ConfigError) as error:
        tabulate_environment(_with_global_reward(lines), limits=FAST_LIMITS)
    assert error.value.field == "environment.functions.global_agent_reward"
    assert "line 4: self-reference" in error.value.value
    assert "no recursion" in error.value.expected


def test_naming_itself_without_calling_is_refused_too():
    with pytest.raises(ConfigError, match="line 2: self-reference"):
        compile_function("f", ["def f(x):", "    g = f", "    return 1"], rng=random.Random(0))


@pytest.mark.parametrize("default", ["[]", "{}", "set()", "(1, [])", "-1"])
def test_non_constant_defaults_are_refused(default):
    lines = [f"def f(x, seen={default}):", "    return x"]
    with pytest.raises(ConfigError) as error:
        compile_function("f", lines, rng=random.Random(0))
    assert error.value.value == f"line 1: default `{default}`"
    assert "mutable default keeps state" in error.value.expected


def test_constant_defaults_are_accepted():
    f = compile_function(
        "f", ["def f(x, scale=2.0, *, name=None):", "    return x * scale"], rng=random.Random(0)
    )
    assert f(3) == 6.0


def test_mutable_default_through_the_whole_tabulation_names_the_function():
    lines = [
        "def global_agent_reward(global_state, global_action, seen=[]):",
        "    seen.append(1)",
        "    return len(seen)",
    ]
    with pytest.raises(ConfigError, match="line 1: default") as error:
        tabulate_environment(_with_global_reward(lines), limits=FAST_LIMITS)
    assert error.value.field == "environment.functions.global_agent_reward"


def test_decorators_are_refused():
    with pytest.raises(ConfigError, match="line 1: a decorator"):
        compile_function("f", ["@max", "def f(x):", "    return x"], rng=random.Random(0))


@pytest.mark.parametrize("stochastic", [False, True])
def test_child_tabulation_equals_in_process_tabulation(stochastic):
    raw = small_config_dict()
    if stochastic:
        raw["environment"]["functions"]["local_agent_transition"] = STOCHASTIC_TRANSITION
    config = parse_config(raw)
    isolated = tabulate_environment(config, seed=4)
    trusted = tabulate_environment(config, seed=4, trust=True)
    for name in ("local_reward", "global_reward", "local_next", "global_next"):
        np.testing.assert_array_equal(getattr(isolated, name), getattr(trusted, name))
    assert isolated.local_deterministic is not stochastic


def test_huge_integer_result_is_reported_not_crashed():
    lines = [HEADER, "    return 10 ** 5000"]
    with pytest.raises(ConfigError, match="a finite number") as error:
        tabulate_environment(_with_global_reward(lines), limits=FAST_LIMITS)
    assert "-> <int too large to print>" in error.value.value
