"""The process side of `sebulba.backend = "ray"`: one Ray actor that owns one actor's host envs
and its jitted CPU acting functions, and answers `rollout(params, version)`.

    server = ray.remote(RolloutServer).remote(config_to_dict(config), env_seed, key_data)
    rollout = ray.get(server.rollout.remote(params, version))   # the thread actors' Rollout

Nothing here imports Ray at module level: the class becomes a Ray actor in `ray_actors`, and
Ray imports this module in the actor's process. The config arrives as a plain dict
(`config_to_dict`) and is validated again here (`load_from_dict`), so an actor on another
host reads the same settings.

A Ray actor that was killed and restarted (`max_restarts`) runs `__init__` again: it builds
fresh envs, and draws a fresh env seed and key from OS entropy (a restart is not reproducible
anyway), so its episodes start anew rather than replaying the run's first ones.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np

from marlax.algorithms.ppo.networks import make_networks
from marlax.algorithms.sebulba.acting import ActingFunctions
from marlax.algorithms.sebulba.host_envs import HostLayout, parallel_env_factory
from marlax.algorithms.sebulba.rollout_worker import (
    ActorSeed,
    Rollout,
    RolloutSpec,
    RolloutWorker,
)
from marlax.config import TrainConfig, load_from_dict
from marlax.config.sebulba import envs_per_actor
from marlax.envs.adapters.from_pettingzoo import HostVectorEnv


def build_worker(config: TrainConfig, seed: ActorSeed) -> RolloutWorker:
    """An actor's `envs_per_actor` host envs (seeded by `seed.env_seed`), PPO's networks for
    their layout, jitted acting functions and initial memory (what the trainer builds for a
    thread actor)."""
    num_envs = envs_per_actor(config)
    envs = HostVectorEnv(parallel_env_factory(config), num_envs, seed=seed.env_seed)
    layout = HostLayout.of(envs)
    networks = make_networks(config.model, layout, config.ppo)
    spec = RolloutSpec(config.ppo.rollout_length, config.ppo.bootstrap_truncation)
    carries = networks.initialize_carry((num_envs, layout.max_agents))
    return RolloutWorker(envs, ActingFunctions.build(networks), spec, seed.key, carries)


def _fresh_seed() -> ActorSeed:
    """An env seed and key from OS entropy (for a restarted actor)."""
    env_entropy, key_entropy = np.random.SeedSequence().generate_state(2)
    return ActorSeed(int(env_entropy) % 2**31, jax.random.key(int(key_entropy)))


class RolloutServer:
    """One Ray actor's state: a `RolloutWorker` built from the run's config."""

    def __init__(self, config: dict[str, Any], env_seed: int, key_data: np.ndarray) -> None:
        import ray

        seed = ActorSeed(env_seed, jax.random.wrap_key_data(np.asarray(key_data)))
        if ray.get_runtime_context().was_current_actor_reconstructed:
            seed = _fresh_seed()
        self.worker = build_worker(load_from_dict(config), seed)

    def rollout(self, params: Any, version: int) -> Rollout:
        """T steps with `params` (host arrays: PPO's actor and critic parameters)."""
        rollout = self.worker.rollout(jax.device_put(params), version)
        return rollout._replace(carries=jax.device_get(rollout.carries))

    def ready(self) -> int:
        """This actor's process id (a cheap call that succeeds once the actor is up)."""
        return os.getpid()
