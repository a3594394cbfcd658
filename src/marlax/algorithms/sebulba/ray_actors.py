"""Ray actors (`sebulba.backend = "ray"`): each actor a process (on this host or any host of a
Ray cluster) running a `RolloutServer`; the learner keeps `queue_size` calls in flight each.

    ray = import_ray()                                   # ConfigError when Ray is missing
    owned = start_ray(ray, config.sebulba)               # join RAY_ADDRESS or start locally
    actors = RayActors(ray, config, seeds, params, version=0)
    rollouts = actors.take()              # one Rollout per actor, in actor order
    actors.publish(new_params, version=1) # one ray.put per update, read by every later call
    actors.close()

Policy lag: every actor starts with `queue_size` calls. `take` gets each actor's oldest call
and at once issues a new one with the latest published parameters, so the call taken at the
update of version v was issued at the update of version v - queue_size (or at the start): its
lag is exactly min(calls so far, queue_size) <= queue_size + 1, whatever the timing. The
actor computes the next rollout while the learner learns.

Failures: a call that fails because its actor died (`RayActorError`, including
`ActorUnavailableError`) counts one restart of that actor; the learner waits until Ray has
restarted it (fresh envs, new episodes: see `ray_worker`) and re-issues all its pending calls
with the current parameters. More than `sebulba.ray_max_restarts` restarts of one actor stop
the run with `ActorsLostError`.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import jax
import numpy as np

from marlax.algorithms.sebulba.ray_worker import RolloutServer
from marlax.algorithms.sebulba.rollout_worker import ActorSeed, Rollout
from marlax.config import TrainConfig, config_to_dict
from marlax.config.sebulba import SebulbaConfig
from marlax.errors import ConfigError

RAY_INSTALL = "pip install 'marlax[serve]'"
RESTART_TIMEOUT_S = 120.0
"""How long the learner waits for Ray to bring a dead actor back."""
_PING_TIMEOUT_S = 5.0


class ActorsLostError(ConfigError):
    """A Ray actor cannot go on (restarts used up, or its start fails). A ConfigError, so the
    host loop marks the run failed with its last checkpoint kept, and the CLI prints one line."""


def import_ray() -> ModuleType:
    """The `ray` module.

    Raises:
        ConfigError: on `sebulba.backend` when Ray is not installed.
    """
    try:
        import ray
    except ImportError as error:
        raise ConfigError(
            "sebulba.backend", "ray", f'"threads", or install Ray: {RAY_INSTALL} ({error})'
        ) from None
    return ray


def start_ray(ray: ModuleType, sebulba: SebulbaConfig) -> bool:
    """Connect to Ray unless this process already is; True when this call connected (the
    caller then shuts it down).

    Joins `sebulba.ray_address`, else $RAY_ADDRESS (a cluster started with `ray start`),
    else starts a new local instance with a CPU per actor at least (never the last cluster
    `ray start` left on this machine, which `ray.init()` alone would join).
    """
    if ray.is_initialized():
        return False
    address = sebulba.ray_address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        num_cpus = max(os.cpu_count() or 1, sebulba.num_actors)
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return True


class RayActors:
    """`num_actors` Ray actors and their pending calls (see the module docstring)."""

    def __init__(
        self,
        ray: ModuleType,
        config: TrainConfig,
        seeds: Sequence[ActorSeed],
        params: Any,
        version: int,
    ) -> None:
        self.ray = ray
        self.queue_size = config.sebulba.queue_size
        self.max_restarts = config.sebulba.ray_max_restarts
        server = ray.remote(RolloutServer).options(
            num_cpus=1,
            max_restarts=self.max_restarts,
            max_task_retries=0,  # the learner re-issues a lost call with newer parameters
            # acting runs on the CPU; an actor must not claim (and preallocate) the learner's GPU
            runtime_env={"env_vars": {"JAX_PLATFORMS": "cpu"}},
        )
        raw = config_to_dict(config)
        self.handles = [
            server.remote(raw, seed.env_seed, np.asarray(jax.random.key_data(seed.key)))
            for seed in seeds
        ]
        self.restarts = [0] * len(self.handles)
        self.env_steps = 0  # env steps of the rollouts taken
        self.publish(params, version)
        self.pending = [
            deque(self._call(index) for _ in range(self.queue_size))
            for index in range(len(self.handles))
        ]

    @property
    def total_restarts(self) -> int:
        return sum(self.restarts)

    def publish(self, params: Any, version: int) -> None:
        """Put `params` in Ray's object store once; every call issued from now reads them."""
        self.params_ref, self.version = self.ray.put(jax.device_get(params)), version

    def take(self) -> list[Rollout]:
        """The oldest call of every actor, in actor order; each replaced by a new call."""
        return [self._take_one(index) for index in range(len(self.handles))]

    def close(self) -> None:
        """Kill every actor (no restart); their envs end with their processes."""
        for handle in self.handles:
            self.ray.kill(handle, no_restart=True)
        self.handles, self.pending = [], []

    def _call(self, index: int) -> Any:
        return self.handles[index].rollout.remote(self.params_ref, self.version)

    def _take_one(self, index: int) -> Rollout:
        while True:
            try:
                rollout = self.ray.get(self.pending[index][0])
                break
            except self.ray.exceptions.RayActorError as error:
                self._recover(index, error)  # replaces the actor's pending calls
        self.pending[index].popleft()
        self.pending[index].append(self._call(index))
        self.env_steps += rollout.finished.size
        return rollout

    def _recover(self, index: int, error: Exception) -> None:
        """Count the restart, wait for the actor, re-issue its calls with current params."""
        if getattr(error, "actor_init_failed", False):
            raise ActorsLostError(
                "sebulba.backend", "ray", f"Ray actors that start: actor {index} failed: {error}"
            ) from None
        self.restarts[index] += 1
        if self.restarts[index] > self.max_restarts:
            raise ActorsLostError(
                "sebulba.ray_max_restarts",
                self.max_restarts,
                f"actors that die at most that often: Ray actor {index} died "
                f"{self.restarts[index]} times ({_first_line(error)}); raise it or remove the "
                "cause, and resume from the last checkpoint",
            ) from None
        self._wait_until_back(index, error)
        self.pending[index] = deque(self._call(index) for _ in self.pending[index])

    def _wait_until_back(self, index: int, error: Exception) -> None:
        deadline = time.monotonic() + RESTART_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                self.ray.get(self.handles[index].ready.remote(), timeout=_PING_TIMEOUT_S)
                return
            except (self.ray.exceptions.RayActorError, self.ray.exceptions.GetTimeoutError):
                time.sleep(0.5)
        raise ActorsLostError(
            "sebulba.backend",
            "ray",
            f"a Ray actor that restarts: actor {index} was not back within "
            f"{RESTART_TIMEOUT_S:.0f} s after {_first_line(error)}",
        )


def _first_line(error: Exception) -> str:
    return f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
