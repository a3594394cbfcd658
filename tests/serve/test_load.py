"""The killed-replica load test, small: every request answered correctly, the replica back."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning"),
]


def _benchmark():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"
    spec = importlib.util.spec_from_file_location("serve_load", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_load"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_killed_member_replica_loses_no_request_and_comes_back(tmp_path):
    from tests.serve.runs import free_port

    serve_load = _benchmark()
    result = serve_load.run_load_test(
        requests=300, clients=4, replicas=2, kill_at=0.3, port=free_port(), runs_dir=tmp_path
    )
    answered = sum(len(latencies) for latencies in result.latencies.values())
    assert answered == 300 and result.lost == 0
    assert result.killed.startswith("SERVE_REPLICA::marlax#member0#")
    assert math.isfinite(result.restart_s) and result.replicas_after == 2
    assert len(result.latencies["before kill"]) >= 1
