"""What every actor does, whatever runs it (a thread or a Ray actor): step its own host envs
for T steps with given parameters and hand back the rollout.

    seeds = actor_seeds(run_seed, key, version, num_actors)     # [(env seed, key)] per actor
    envs = HostVectorEnv(make_parallel_env, envs_per_actor, seed=seeds[0].env_seed)
    worker = RolloutWorker(envs, policy, RolloutSpec(128, True), seeds[0].key, carries)
    rollout = worker.rollout(params, version)        # T steps from where the last one stopped

Actor i's env seed and key come from (run seed, parameter version at start, i) in both
backends, so a thread and a Ray actor with the same index, parameters and version produce the
same rollouts.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import numpy as np

from marlax.algorithms.ppo.types import Transition
from marlax.algorithms.sebulba.acting import ActingFunctions, Carries
from marlax.envs.adapters.from_pettingzoo import HostStep, HostVectorEnv

_NUM_TRANSITION_FIELDS = len(dataclasses.fields(Transition))


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


class ActorSeed(NamedTuple):
    """Where actor i's randomness starts."""

    env_seed: int  # seeds the first reset of its host envs (`from_pettingzoo`)
    key: jax.Array  # key[] its action noise


def actor_seeds(run_seed: int, key: jax.Array, version: int, num_actors: int) -> list[ActorSeed]:
    """Every actor's env seed and key from (run seed, learner key, version, actor index).

    The version enters both, so a resumed run (started at a later version) does not replay
    the first start's episodes.
    """
    keys = jax.random.split(jax.random.fold_in(key, version), num_actors)
    seeds = []
    for index in range(num_actors):
        entropy = np.random.SeedSequence([run_seed, version, index]).generate_state(1)[0]
        seeds.append(ActorSeed(int(entropy) % 2**31, keys[index]))
    return seeds


class RolloutWorker:
    """One actor's envs, memory and key; `rollout` continues from where the last one stopped
    (the envs are reset at the first call)."""

    def __init__(
        self,
        envs: HostVectorEnv,
        policy: ActingFunctions,
        spec: RolloutSpec,
        key: jax.Array,
        carries: Carries,
    ) -> None:
        self.envs, self.policy, self.spec = envs, policy, spec
        self.key, self.carries = key, carries
        self.current: HostStep | None = None
        self.env_steps = 0

    def rollout(self, params: Any, version: int) -> Rollout:
        """T steps with `params` (their `version` is recorded in the rollout)."""
        if self.current is None:
            self.current = self.envs.reset()
        start_carries = self.carries
        steps = []
        for _ in range(self.spec.num_steps):
            record, self.current = self._step(params, self.current)
            steps.append(record)
        self.env_steps += self.spec.num_steps * self.envs.num_envs
        last_value = self.policy.value(params, self.carries, self.current.obs, self.current.started)
        stacked = [np.stack(leaves) for leaves in zip(*steps, strict=True)]
        transition = Transition(*stacked[:_NUM_TRANSITION_FIELDS])
        alive, finished, episode_return, episode_length = stacked[_NUM_TRANSITION_FIELDS:]
        return Rollout(
            transition,
            alive,
            np.asarray(last_value),
            start_carries,
            finished,
            episode_return,
            episode_length,
            version,
        )

    def close(self) -> None:
        self.envs.close()

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
            np.zeros((current.alive.shape[0], 0), np.float32),  # critic_state: none here
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
