"""Imports point one way (README, Architecture): each package imports only the ones below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import marlax

SOURCE = Path(marlax.__file__).parent

ALLOWED = {
    "errors": set(),
    "validate": {"errors"},
    "_xla_flags": set(),
    "envs": {"validate", "errors"},
    "coordination": {"validate", "errors"},
    "ensembles": {"validate", "errors"},
    "models": {"envs.spaces", "coordination", "validate", "errors"},
    "bench": {"coordination", "validate", "errors"},
    "runs": {"validate", "errors"},
    "distributed": {"runs", "validate", "errors"},
    "config": {"envs", "models", "validate", "errors"},
    "language": {"models", "ensembles", "validate", "errors"},
    "algorithms": {
        "runs",
        "config",
        "models",
        "ensembles",
        "coordination",
        "envs",
        "validate",
        "errors",
    },
    "evolution": {"algorithms", "config", "runs", "envs", "models", "validate", "errors"},
    "play": {"algorithms.common", "runs", "envs", "validate", "errors"},
    "evaluation": {"algorithms", "ensembles", "envs", "runs", "validate", "errors"},
    "serve": {"algorithms", "evaluation", "ensembles", "config", "validate", "errors"},
    "reproduce": {
        "algorithms",
        "evaluation",
        "bench",
        "play",
        "config",
        "envs",
        "runs",
        "validate",
    },
}
"""Package -> what of marlax it may import (a dotted entry allows that subpackage only)."""


def _marlax_imports(path: Path) -> set[str]:
    """The marlax modules `path` imports, without the `marlax.` prefix."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name.removeprefix("marlax.") for name in found if name.startswith("marlax.")}


def _allowed(package: str, module: str) -> bool:
    if module.split(".")[0] == package:
        return True
    return any(module == rule or module.startswith(rule + ".") for rule in ALLOWED[package])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_lies_below_it(package):
    files = sorted(SOURCE.glob(f"{package}/**/*.py")) or [SOURCE / f"{package}.py"]
    wrong = {
        f"{path.relative_to(SOURCE)} imports marlax.{module}"
        for path in files
        for module in _marlax_imports(path)
        if not _allowed(package, module)
    }
    assert not wrong, sorted(wrong)


def test_every_package_is_listed():
    packages = {path.name for path in SOURCE.iterdir() if (path / "__init__.py").exists()}
    modules = {path.stem for path in SOURCE.glob("*.py") if path.stem != "__init__"}
    assert packages | modules == set(ALLOWED) | {"cli"}


def test_the_check_catches_an_upward_import(tmp_path):
    upward = tmp_path / "bad.py"
    upward.write_text("from marlax.algorithms.ppo.trainer import Trainer\n")
    assert not any(_allowed("runs", module) for module in _marlax_imports(upward))
