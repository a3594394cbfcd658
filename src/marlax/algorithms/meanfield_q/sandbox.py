"""Compile the Python functions a config carries, refusing anything outside a safe subset.

Configs travel between people, so their source is untrusted. Untrusted source must be one
`def NAME(...)` whose body uses arithmetic, comparisons, if/else, local names, the builtins
`abs min max round int float` and the modules `math` and `random` (imported or not). The
check runs twice: an AST whitelist that names the offending line in plain words, then
RestrictedPython, which also guards attribute access at run time. The function may not name
itself (recursion, which could be exponential) and its defaults must be constants (a
mutable default such as `seen=[]` keeps state between calls, so a function tabulated as
deterministic would not be). What a function may compute is still unbounded (`10 ** 10 **
10`): `isolation.py` runs the calls in a child process with CPU, memory and wall-clock
limits. `trust=True` (the CLI's `--trust-config`) compiles the source as ordinary Python.

`random` inside a config function is a `random.Random` seeded by the run, so a fixed seed
gives identical tables and rewards.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import math
import operator
import random
from collections.abc import Callable, Sequence
from typing import Any

from RestrictedPython import compile_restricted_exec
from RestrictedPython.Guards import safer_getattr

from marlax.errors import ConfigError

ALLOWED_MODULES: frozenset[str] = frozenset({"math", "random"})
ALLOWED_BUILTINS: frozenset[str] = frozenset({"abs", "min", "max", "round", "int", "float"})
DENIED_NAMES: frozenset[str] = frozenset(
    {
        "open", "exec", "eval", "compile", "__import__", "globals", "locals", "vars",
        "getattr", "setattr", "delattr", "input", "breakpoint", "help", "exit", "quit",
    }
)  # fmt: skip
_DENIED_NODES: dict[type, str] = {
    ast.While: "while loops",
    ast.For: "for loops",
    ast.AsyncFunctionDef: "async functions",
    ast.ClassDef: "classes",
    ast.Global: "global statements",
    ast.Nonlocal: "nonlocal statements",
    ast.With: "with statements",
    ast.Try: "try statements",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Await: "await",
    ast.Delete: "del statements",
}
_INPLACE_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.add,
    "-=": operator.sub,
    "*=": operator.mul,
    "/=": operator.truediv,
    "//=": operator.floordiv,
    "%=": operator.mod,
    "**=": operator.pow,
}


def _field(name: str) -> str:
    return f"environment.functions.{name}"


def _refuse(name: str, line: int, what: str, expected: str) -> ConfigError:
    return ConfigError(_field(name), f"line {line}: {what}", expected)


def _check_signature(name: str, function: ast.FunctionDef) -> None:
    """No decorators, and constant defaults only (a mutable default is hidden state)."""
    if function.decorator_list:
        line = function.decorator_list[0].lineno
        raise _refuse(name, line, "a decorator", f"a plain `def {name}(...)`")
    arguments = function.args
    defaults = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None)]
    for default in defaults:
        if not isinstance(default, ast.Constant):
            raise _refuse(
                name,
                default.lineno,
                f"default `{ast.unparse(default)}`",
                "constant defaults (a mutable default keeps state between calls)",
            )


def _check_tree(name: str, tree: ast.Module) -> None:
    """AST whitelist: exactly one top-level `def name`, no imports but math/random, no dunders."""
    body = tree.body
    if len(body) != 1 or not isinstance(body[0], ast.FunctionDef) or body[0].name != name:
        line = body[0].lineno if body else 1
        raise _refuse(name, line, "module-level code", f"exactly one `def {name}(...)`")
    _check_signature(name, body[0])
    safe = "arithmetic, if/else, abs/min/max/round/int/float, math and random"
    for node in ast.walk(body[0]):
        line = getattr(node, "lineno", 1)
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [alias.name for alias in node.names]
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or "."]
            for module in modules:
                if module not in ALLOWED_MODULES:
                    raise _refuse(name, line, f"import of {module!r}", "only math and random")
        elif isinstance(node, ast.FunctionDef) and node is not body[0]:
            raise _refuse(name, line, "nested function", safe)
        elif type(node) in _DENIED_NODES:
            raise _refuse(name, line, _DENIED_NODES[type(node)], safe)
        elif isinstance(node, ast.Name) and (node.id in DENIED_NAMES or node.id.startswith("__")):
            raise _refuse(name, line, f"use of {node.id!r}", safe)
        elif isinstance(node, ast.Name) and node.id == name:
            raise _refuse(name, line, f"self-reference `{name}`", "no recursion: " + safe)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise _refuse(name, line, f"attribute {node.attr!r}", "no underscore attributes")


def _restricted_import(modules: dict[str, Any]) -> Callable[..., Any]:
    def _import(module_name: str, *args: Any, **kwargs: Any) -> Any:
        if module_name not in modules:
            raise ImportError(f"import of {module_name!r} is not allowed")
        return modules[module_name]

    return _import


def _restricted_globals(rng: random.Random) -> dict[str, Any]:
    modules = {"math": math, "random": rng}
    builtins = {"abs": abs, "min": min, "max": max, "round": round, "int": int, "float": float}
    builtins |= {"__import__": _restricted_import(modules), "True": True, "False": False}
    return {
        "__builtins__": builtins,
        "__name__": "marlax_config",
        "_getattr_": safer_getattr,
        "_getitem_": operator.getitem,
        "_inplacevar_": lambda op, target, value: _INPLACE_OPERATORS[op](target, value),
        **modules,
    }


def _trusted_builtins(rng: random.Random) -> dict[str, Any]:
    """All builtins, but `import random` gives the run's seeded `rng`, as in the sandbox."""

    def _import(module_name: str, *args: Any, **kwargs: Any) -> Any:
        if module_name == "random":
            return rng
        return builtins.__import__(module_name, *args, **kwargs)

    return {**vars(builtins), "__import__": _import}


def compile_function(
    name: str, source: Sequence[str], *, rng: random.Random, trust: bool = False
) -> Callable[..., Any]:
    """Compile one config function from its source lines.

    Args:
        name: the function's name (`local_agent_reward`, ...); the source must define it.
        source: the lines of Python source, as the config stores them.
        rng: the `random` the function sees (seeded by the run).
        trust: compile as ordinary Python, lifting every restriction.

    Returns:
        The compiled function.

    Raises:
        ConfigError: naming `environment.functions.<name>` and the offending line.
    """
    text = "\n".join(source)
    try:
        tree = ast.parse(text)
    except SyntaxError as error:
        raise _refuse(
            name, error.lineno or 1, f"syntax error: {error.msg}", "valid Python"
        ) from None
    if trust:
        namespace: dict[str, Any] = {
            "__builtins__": _trusted_builtins(rng),
            "__name__": "marlax_config",
            "math": math,
            "random": rng,
        }
        exec(compile(tree, f"<config:{name}>", "exec"), namespace)  # trusted by the user
        function = namespace.get(name)
        if not callable(function):
            raise ConfigError(_field(name), text[:60], f"source that defines `def {name}`")
        return function
    _check_tree(name, tree)
    result = compile_restricted_exec(text, filename=f"<config:{name}>")
    if result.errors:
        raise ConfigError(_field(name), result.errors[0], "source within the safe subset")
    namespace = _restricted_globals(rng)
    exec(result.code, namespace)  # restricted byte code
    return namespace[name]


def resolve_reference(name: str, reference: str, *, trust: bool = False) -> Callable[..., Any]:
    """Import a `"module:function"` reference.

    Untrusted configs may only name functions inside the `marlax` package, since importing
    an arbitrary module runs its code; `trust=True` lifts this.
    """
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise ConfigError(_field(name), reference, "a list of source lines or 'module:function'")
    if not trust and module_name.split(".")[0] != "marlax":
        raise ConfigError(
            _field(name), reference, "a marlax module (other modules need --trust-config)"
        )
    try:
        function = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(_field(name), reference, f"an importable function ({error})") from None
    if not callable(function):
        raise ConfigError(_field(name), reference, "a callable")
    return function
