"""The config-function sandbox: safe subset accepted, everything else refused with its line."""

from __future__ import annotations

import random

import pytest

from marlax.algorithms.meanfield_q.sandbox import compile_function, resolve_reference
from marlax.errors import ConfigError


def _compile(lines, trust=False):
    return compile_function("f", lines, rng=random.Random(0), trust=trust)


def test_safe_subset_runs():
    f = _compile(
        [
            "def f(x, y):",
            "    import math",
            "    import random",
            "    z = abs(x) + max(1, y) - min(0, y) + round(1.6) + int(2.9) + float(1)",
            "    z += math.sqrt(4)",
            "    if random.random() < 2.0:",
            "        z = z * 2",
            "    return z",
        ]
    )
    assert f(-1, 3) == 2 * (1 + 3 - 0 + 2 + 2 + 1.0 + 2.0)


@pytest.mark.parametrize(
    ("lines", "line", "what"),
    [
        (["def f(x):", "    return __import__('os').getcwd()"], 2, "__import__"),
        (["def f(x):", "    import os", "    return 1"], 2, "'os'"),
        (["def f(x):", "    from subprocess import run", "    return 1"], 2, "'subprocess'"),
        (["def f(x):", "    y = 1", "    return open('/etc/passwd').read()"], 3, "'open'"),
        (["def f(x):", "    return eval('1')"], 2, "'eval'"),
        (["def f(x):", "    return exec('x=1')"], 2, "'exec'"),
        (["def f(x):", "    return x.__class__"], 2, "__class__"),
        (["def f(x):", "    while True:", "        x = x + 1", "    return x"], 2, "while"),
        (["import os", "def f(x):", "    return x"], 1, "module-level"),
    ],
)
def test_refused_with_function_and_line(lines, line, what):
    with pytest.raises(ConfigError) as error:
        _compile(lines)
    assert error.value.field == "environment.functions.f"
    assert f"line {line}" in str(error.value.value)
    assert what in str(error.value)


def test_syntax_error_names_line():
    with pytest.raises(ConfigError, match="line 2"):
        _compile(["def f(x):", "    return (x"])


def test_trust_lifts_the_restrictions():
    f = _compile(["def f(x):", "    import os", "    return os.path.basename('/a/b')"], trust=True)
    assert f(0) == "b"


def test_random_is_seeded_by_the_run():
    lines = ["def f():", "    import random", "    return random.random()"]
    first = compile_function("f", lines, rng=random.Random(3))
    second = compile_function("f", lines, rng=random.Random(3))
    assert [first() for _ in range(5)] == [second() for _ in range(5)]


def test_module_references_outside_marlax_need_trust():
    with pytest.raises(ConfigError, match="trust-config"):
        resolve_reference("f", "os:getcwd")
    assert resolve_reference("f", "os.path:basename", trust=True)("/a/b") == "b"
    from marlax.algorithms.meanfield_q.plot import fit_inverse_sqrt

    assert resolve_reference("f", "marlax.algorithms.meanfield_q.plot:fit_inverse_sqrt") is (
        fit_inverse_sqrt
    )
