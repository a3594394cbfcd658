"""The killed-replica load test, small: every request answered correctly, the replica back."""

from __future__ import annotations

import math

import pytest

from tests.benchmarks.loader import load_benchmark

pytest.importorskip("ray")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::RuntimeWarning", "ignore::DeprecationWarning"),
]


def test_a_killed_member_replica_loses_no_request_and_comes_back(tmp_path):
    from tests.serve.runs import free_port

    serve_load = load_benchmark("serve_load")
    result = serve_load.run_load_test(
        requests=300, clients=4, replicas=2, kill_at=0.3, port=free_port(), runs_dir=tmp_path
    )
    answered = sum(len(latencies) for latencies in result.latencies.values())
    assert answered == 300 and result.lost == 0
    assert result.killed.startswith("SERVE_REPLICA::marlax#member0#")
    assert math.isfinite(result.restart_s) and result.replicas_after == 2
    assert len(result.latencies["before kill"]) >= 1
