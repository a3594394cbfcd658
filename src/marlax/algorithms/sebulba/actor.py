"""Actor threads: each steps its own host envs for T steps with the latest published
parameters and puts the rollout in its own bounded queue.

    store = ParamsStore(params, version=0)
    actor = Actor(0, envs, policy, store, RolloutSpec(128, True), key, queue_size=1)
    actor.start()
    rollout = actor.take(stop)            # the learner's side: the next Rollout, in order

The learner takes one rollout from every actor per update, always in actor order, so an
actor's k-th rollout feeds update k. Its parameters were fetched after its (k-1)-th rollout was
put, which waited for a free place: rollout k - 1 - queue_size had been taken (at the start of
update k - 1 - queue_size). So the version it acted with is at least k - 1 - queue_size, and the
policy lag (update k's version minus that) is at most queue_size + 1.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
from typing import Any, NamedTuple

import jax
import numpy as np

from marlax.algorithms.ppo.types import Transition
from marlax.algorithms.sebulba.acting import ActingFunctions, Carries
from marlax.envs.adapters.from_pettingzoo import HostStep, HostVectorEnv

_NUM_TRANSITION_FIELDS = len(dataclasses.fields(Transition))
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


class RolloutSpec(NamedTuple):
    """What every rollout of an actor is."""

    num_steps: int  # T
    bootstrap_truncation: bool  # compute V(final_obs) where an agent is cut without terminating


class Rollout(NamedTuple):
    """T steps of one actor's B_a envs, as host arrays (leading axes [T, B_a, N] or [B_a, N])."""

    transition: Transition  # [T, B_a, N, ...] PPO's layout
    alive: np.ndarray  # bool[T, B_a, N] the agent acted at that step (else: loss weight 0)
    last_value: np.ndarray  # f32[B_a, N] V of the observation after the last step
    carries: Carries  # [B_a, N, ...] memory before the first step
    finished: np.ndarray  # bool[T, B_a] an episode ended at that step
    episode_return: np.ndarray  # f32[T, B_a] its summed reward, mean over agent slots
    episode_length: np.ndarray  # i32[T, B_a]
    version: int  # the parameters' version the actor acted with


class Actor(threading.Thread):
    """One actor thread (see the module docstring). `error` holds what stopped it, if anything."""

    def __init__(
        self,
        index: int,
        envs: HostVectorEnv,
        policy: ActingFunctions,
        store: ParamsStore,
        spec: RolloutSpec,
        key: jax.Array,
        queue_size: int,
        carries: Carries,
    ) -> None:
        super().__init__(name=f"sebulba-actor-{index}", daemon=True)
        self.index, self.envs, self.policy, self.store, self.spec = index, envs, policy, store, spec
        self.key = key
        self.carries = carries
        self.rollouts: queue.Queue[Rollout] = queue.Queue(maxsize=queue_size)
        self.stop_requested = threading.Event()
        self.error: BaseException | None = None
        self.env_steps = 0

    def run(self) -> None:
        try:
            current = self.envs.reset()
            while not self.stop_requested.is_set():
                params, version = self.store.latest()
                rollout, current = self._rollout(params, version, current)
                self._put(rollout)
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
        self.envs.close()

    def _rollout(self, params: Any, version: int, current: HostStep) -> tuple[Rollout, HostStep]:
        """T steps from `current` with `params`; returns the rollout and where it stopped."""
        start_carries = self.carries
        steps = []
        for _ in range(self.spec.num_steps):
            record, current = self._step(params, current)
            steps.append(record)
        self.env_steps += self.spec.num_steps * self.envs.num_envs
        last_value = self.policy.value(params, self.carries, current.obs, current.started)
        stacked = [np.stack(leaves) for leaves in zip(*steps, strict=True)]
        transition = Transition(*stacked[:_NUM_TRANSITION_FIELDS])
        alive, finished, episode_return, episode_length = stacked[_NUM_TRANSITION_FIELDS:]
        rollout = Rollout(
            transition,
            alive,
            np.asarray(last_value),
            start_carries,
            finished,
            episode_return,
            episode_length,
            version,
        )
        return rollout, current

    def _step(self, params: Any, current: HostStep) -> tuple[tuple, HostStep]:
        """Act on `current`, step the envs; returns (the step's record, the next HostStep)."""
        self.carries, action, log_prob, value, self.key = self.policy.act(
            params, self.carries, current.obs, current.started, current.legal, self.key
        )
        action = np.asarray(action)
        following = self.envs.step(action)
        truncated = following.agent_done & ~following.terminated
        final_value = np.zeros(truncated.shape, np.float32)
        if self.spec.bootstrap_truncation and truncated.any():
            no_reset = np.zeros(truncated.shape, bool)
            final_value = np.asarray(
                self.policy.value(params, self.carries, following.final_obs, no_reset)
            )
        dead = ~current.alive  # a slot without an agent: done at once, nothing to bootstrap
        record = (
            current.obs,
            np.zeros((*current.alive.shape, 0), np.float32),
            current.started,
            action,
            np.asarray(log_prob),
            np.asarray(value),
            following.reward,
            following.agent_done | dead,
            following.terminated | dead,
            np.where(truncated, final_value, 0.0).astype(np.float32),
            current.legal,
            current.alive,
            following.done,
            following.episode_return,
            following.episode_length,
        )
        return record, following
