"""Load a script of `benchmarks/` as a module, for tests of its pieces."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@functools.cache
def load_benchmark(stem: str) -> ModuleType:
    """`benchmarks/<stem>.py`, executed once per test process and registered in sys.modules
    (dataclasses look their module up by name).

    benchmarks/ joins the front of sys.path first, as it does when a script runs as
    `python benchmarks/<stem>.py`: scripts import their shared pieces (`cell_progress`,
    `learning`) by bare name."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    name = f"marlax_bench_{stem}"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
