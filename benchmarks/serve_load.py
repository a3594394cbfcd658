"""Loopback load test of `marlax serve` with a replica killed part-way: nothing may be lost.

    python benchmarks/serve_load.py --requests 2000 --clients 8 --replicas 2

Serves one tiny PPO run (simple_spread, 3 agents, an MLP actor with one 16-unit layer; saved
fresh in a temporary folder unless --run/--runs-dir name one) with R replicas per
deployment. C client threads send N requests, each a one-env observation drawn from a fixed
set whose answers the local policy computed first. When `--kill-at` of the requests are
done, one replica of the member deployment is killed (`ray.kill`, as a crash); Ray Serve
restarts it. A client retries a connection error or a 502/503/504 (at most 8 times); a
request is lost when it still fails or answers other actions than the local policy.

Prints one markdown table: p50/p99 latency before the kill, while the replica is missing
(kill -> Serve reports R running again) and after, the retries and the lost requests.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np

from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.trained import load_run_policy
from marlax.config.load import config_to_dict, load_from_dict
from marlax.runs.checkpoint import Checkpointer
from marlax.runs.folder import RunFolder
from marlax.serve.app import member_deployment_name, start_serving, stop_serving
from marlax.serve.client import ServeClient, ServeError
from marlax.serve.replicas import kill_replica, running_replicas
from marlax.serve.settings import ServeSettings

RUN_CONFIG = {
    "env": {"name": "simple_spread", "num_envs": 4},
    "model": {"name": "mlp", "core": {"hidden_sizes": [16]}},
    "ppo": {"total_env_steps": 32, "rollout_length": 8, "num_minibatches": 1, "num_epochs": 1},
}
NUM_OBSERVATIONS = 64
CLIENT_RETRIES = 8


@dataclass
class LoadResult:
    """What the load test saw."""

    latencies: dict[str, list[float]] = field(default_factory=dict)  # phase -> seconds
    lost: int = 0
    retried: int = 0
    killed: str = ""
    restart_s: float = float("nan")  # kill -> Serve reports every replica running again
    replicas_after: int = 0


def save_tiny_run(runs_dir: Path, name: str = "serve-load") -> str:
    """A run folder holding one checkpoint of a freshly initialised PPO actor."""
    trainer = Trainer(load_from_dict(RUN_CONFIG))
    run = RunFolder.create(runs_dir, name, config_to_dict(trainer.config))
    state = jax.device_get(trainer.init(jax.random.key(0)))
    with Checkpointer(run.checkpoint_dir) as checkpointer:
        checkpointer.save(1, state, {"env_steps": trainer.env_steps_per_update, "update": 1})
    return name


def expected_actions(runs_dir: Path, run: str, observations: np.ndarray) -> list[list[int]]:
    """The local policy's greedy actions on each observation (a fresh episode each)."""
    local = load_run_policy(runs_dir, run)
    state = local.env.reset(jax.random.key(0))[1]
    memory = local.policy.initial_memory()
    act = jax.jit(local.policy.act)
    return [
        np.asarray(act(jax.random.key(0), obs, state, memory, np.bool_(True))[0]).tolist()
        for obs in observations
    ]


class _Driver:
    """Hands out request indices and records each request's phase, latency and outcome."""

    def __init__(self, total: int) -> None:
        self.total, self.issued, self.done = total, 0, 0
        self.lock = threading.Lock()
        self.killed_at = self.restored_at = float("inf")
        self.records: list[tuple[float, float, bool]] = []  # (start, seconds, correct)

    def next_index(self) -> int | None:
        with self.lock:
            if self.issued == self.total:
                return None
            self.issued += 1
            return self.issued - 1

    def record(self, start: float, seconds: float, correct: bool) -> None:
        with self.lock:
            self.records.append((start, seconds, correct))
            self.done += 1

    def phase(self, start: float, seconds: float) -> str:
        if start + seconds < self.killed_at:
            return "before kill"
        return "replica down" if start < self.restored_at else "after restart"


def _client_loop(driver: _Driver, url: str, observations, expected) -> int:
    client = ServeClient(url, retries=CLIENT_RETRIES, timeout_s=30.0)
    while (index := driver.next_index()) is not None:
        which = index % len(observations)
        start = time.perf_counter()
        try:
            correct = client.act(observations[which])["actions"] == expected[which]
        except ServeError:
            correct = False
        driver.record(start, time.perf_counter() - start, correct)
    client.close()
    return client.retried


def _killer(driver: _Driver, result: LoadResult, app: str, kill_after: int, replicas: int) -> None:
    deployment = member_deployment_name(0)
    while driver.done < kill_after:
        time.sleep(0.01)
    result.killed = kill_replica(app, deployment)
    driver.killed_at = time.perf_counter()
    noticed_by = time.perf_counter() + 30.0
    # until Serve notices the death (or has already replaced the replica)
    while running_replicas(app, deployment) == replicas and time.perf_counter() < noticed_by:
        time.sleep(0.05)
    while running_replicas(app, deployment) < replicas:
        time.sleep(0.05)
    driver.restored_at = time.perf_counter()
    result.restart_s = driver.restored_at - driver.killed_at


def run_load_test(
    *,
    requests: int = 2000,
    clients: int = 8,
    replicas: int = 2,
    kill_at: float = 0.3,
    port: int = 8123,
    runs_dir: Path | None = None,
    run: str | None = None,
    num_cpus: int = 2,
) -> LoadResult:
    """Serve, load, kill one member replica, wait for the restart; see the module docstring."""
    with tempfile.TemporaryDirectory() as scratch:
        runs_dir = Path(scratch) if runs_dir is None else runs_dir
        run = save_tiny_run(runs_dir) if run is None else run
        observations = 3.0 * np.random.default_rng(0).normal(size=(NUM_OBSERVATIONS, 3, 18))
        observations = observations.astype(np.float32)
        expected = expected_actions(runs_dir, run, observations)
        settings = ServeSettings(runs=(run,), runs_dir=runs_dir, replicas=replicas, port=port)
        init = {"num_cpus": num_cpus, "include_dashboard": False, "log_to_driver": False}
        server = start_serving(settings, ray_init=init)
        try:
            return _drive(server.url, settings, observations, expected, requests, clients, kill_at)
        finally:
            stop_serving()


def _drive(url, settings, observations, expected, requests, clients, kill_at) -> LoadResult:
    driver, result = _Driver(requests), LoadResult()
    args = (driver, result, settings.app_name, int(kill_at * requests), settings.replicas)
    killer = threading.Thread(target=_killer, args=args, daemon=True)
    killer.start()
    retried = [0] * clients

    def _worker(position: int) -> None:
        retried[position] = _client_loop(driver, url, observations, expected)

    workers = [threading.Thread(target=_worker, args=(position,)) for position in range(clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    killer.join(timeout=120)
    result.replicas_after = running_replicas(settings.app_name, member_deployment_name(0))
    for start, seconds, correct in driver.records:
        result.latencies.setdefault(driver.phase(start, seconds), []).append(seconds)
        result.lost += not correct
    result.retried = sum(retried)
    return result


def table(result: LoadResult) -> str:
    """A markdown table of the phases' latencies, retries and losses."""
    lines = ["| phase | requests | p50 ms | p99 ms |", "| --- | ---: | ---: | ---: |"]
    for phase in ("before kill", "replica down", "after restart"):
        seconds = np.asarray(result.latencies.get(phase, [np.nan])) * 1e3
        count = len(result.latencies.get(phase, []))
        lines.append(
            f"| {phase} | {count} | {np.percentile(seconds, 50):.1f} | "
            f"{np.percentile(seconds, 99):.1f} |"
        )
    lines.append(
        f"\nkilled {result.killed}; back to full strength after {result.restart_s:.1f} s; "
        f"retries {result.retried}; lost {result.lost}; replicas running after: "
        f"{result.replicas_after}"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--kill-at", type=float, default=0.3)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--runs-dir", type=Path, default=None)
    parser.add_argument("--run", default=None)
    args = parser.parse_args()
    result = run_load_test(
        requests=args.requests,
        clients=args.clients,
        replicas=args.replicas,
        kill_at=args.kill_at,
        port=args.port,
        runs_dir=args.runs_dir,
        run=args.run,
        num_cpus=args.num_cpus,
    )
    print(table(result))


if __name__ == "__main__":
    main()
