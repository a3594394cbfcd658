"""Actor threads (`sebulba.backend = "threads"`): each runs a `RolloutWorker` with the latest
published parameters and puts its rollouts in its own bounded queue.

    actors = ThreadActors(workers, params, version=0, queue_size=1)   # threads started
    rollouts = actors.take()              # one Rollout per actor, in actor order
    actors.publish(new_params, version=1)
    actors.close()

The learner takes one rollout from every actor per update, always in actor order, so an
actor's k-th rollout feeds update k. Its parameters were fetched after its (k-1)-th rollout was
put, which waited for a free place: rollout k - 1 - queue_size had been taken (at the start of
update k - 1 - queue_size). So the version it acted with is at least k - 1 - queue_size, and the
policy lag (update k's version minus that) is at most queue_size + 1.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

from marlax.algorithms.sebulba.rollout_worker import Rollout, RolloutWorker

POLL_SECONDS = 0.1
"""How often a blocked actor or learner looks for a stop request or a dead peer."""


class ParamsStore:
    """The learner's latest parameters and their version (updates done), behind a lock."""

    def __init__(self, params: Any, version: int) -> None:
        self._lock = threading.Lock()
        self._params, self._version = params, version

    def publish(self, params: Any, version: int) -> None:
        with self._lock:
            self._params, self._version = params, version

    def latest(self) -> tuple[Any, int]:
        with self._lock:
            return self._params, self._version


class Actor(threading.Thread):
    """One actor thread (see the module docstring). `error` holds what stopped it, if anything."""

    def __init__(
        self, index: int, worker: RolloutWorker, store: ParamsStore, queue_size: int
    ) -> None:
        super().__init__(name=f"sebulba-actor-{index}", daemon=True)
        self.index, self.worker, self.store = index, worker, store
        self.rollouts: queue.Queue[Rollout] = queue.Queue(maxsize=queue_size)
        self.stop_requested = threading.Event()
        self.error: BaseException | None = None

    @property
    def env_steps(self) -> int:
        return self.worker.env_steps

    def run(self) -> None:
        try:
            while not self.stop_requested.is_set():
                params, version = self.store.latest()
                self._put(self.worker.rollout(params, version))
        except BaseException as error:  # handed to the learner, which raises it
            self.error = error

    def _put(self, rollout: Rollout) -> None:
        while not self.stop_requested.is_set():
            try:
                self.rollouts.put(rollout, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def take(self) -> Rollout:
        """The learner's side: this actor's next rollout (raises what stopped the actor)."""
        while True:
            try:
                return self.rollouts.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if self.error is not None:
                    raise RuntimeError(f"{self.name} failed: {self.error!r}") from self.error
                if not self.is_alive():
                    raise RuntimeError(f"{self.name} stopped without a rollout") from None

    def stop(self) -> None:
        """Ask the thread to end, free a blocked put, and wait for it."""
        self.stop_requested.set()
        self.join()
        self.worker.close()


class ThreadActors:
    """One started `Actor` thread per worker, sharing one `ParamsStore`."""

    def __init__(
        self, workers: Sequence[RolloutWorker], params: Any, version: int, queue_size: int
    ) -> None:
        self.store = ParamsStore(params, version)
        self.actors = [
            Actor(index, worker, self.store, queue_size) for index, worker in enumerate(workers)
        ]
        for actor in self.actors:
            actor.start()

    def take(self) -> list[Rollout]:
        """The next rollout of every actor, in actor order."""
        return [actor.take() for actor in self.actors]

    def publish(self, params: Any, version: int) -> None:
        """What every actor's next rollout acts with."""
        self.store.publish(params, version)

    def close(self) -> None:
        """Stop and join every thread and close its envs."""
        for actor in self.actors:
            actor.stop_requested.set()
        for actor in self.actors:
            actor.stop()

    @property
    def env_steps(self) -> int:
        """Env steps every actor has taken so far (more than learned: rollouts in the queues)."""
        return sum(actor.env_steps for actor in self.actors)
