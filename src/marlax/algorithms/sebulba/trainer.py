"""`SebulbaTrainer`: actors on host envs, PPO's update on the learner, parameters back.

    trainer = SebulbaTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))    # SebulbaState, leading seed axis 1
    state, metrics = trainer.update(state, 10)               # starts the actors on first use
    trainer.close()                                          # stops them (and Ray, if started)

The actors are threads of this process (`sebulba.backend = "threads"`, `actor.ThreadActors`)
or Ray actors, one process each (`"ray"`, `ray_actors.RayActors`); both run the same
`RolloutWorker` with the same seeds, so with the same parameters they give the same rollouts.

Each update takes one rollout from every actor (in actor order), joins them into PPO's batch
[T, B, N] with B = envs.0.num_envs, runs PPO's GAE and epochs in one jitted call, and
publishes the new parameters with their version. Metrics per update: the ended episodes'
`return`, `length` and `episodes`, PPO's `loss/*`, `policy_lag/max` and `policy_lag/mean`
(learner version minus the version each rollout acted with; at most `queue_size` + 1), and
with Ray `actor_restarts` (restarts of killed actors so far).

Threads make the run nondeterministic (which version a rollout acts with depends on timing),
so a resumed run continues from the checkpoint's parameters and optimiser with fresh
episodes, not bitwise as an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.ppo.networks import Networks, make_networks
from marlax.algorithms.ppo.update import make_optimizer
from marlax.algorithms.sebulba.acting import ActingFunctions
from marlax.algorithms.sebulba.actor import ThreadActors
from marlax.algorithms.sebulba.host_envs import HostLayout, parallel_env_factory
from marlax.algorithms.sebulba.learner import (
    SebulbaState,
    episode_metrics,
    join_rollouts,
    learn_step,
)
from marlax.algorithms.sebulba.ray_actors import RayActors, import_ray, start_ray
from marlax.algorithms.sebulba.rollout_worker import (
    ActorSeed,
    RolloutSpec,
    RolloutWorker,
    actor_seeds,
)
from marlax.config import TrainConfig
from marlax.config.checks import check_minibatches
from marlax.config.sebulba import envs_per_actor
from marlax.envs.adapters.from_pettingzoo import HostVectorEnv, from_pettingzoo


def _strong(leaf: jax.Array) -> jax.Array:
    """The leaf without a weak type (keys pass unchanged), so the learn step compiles once."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return leaf
    return jax.lax.convert_element_type(leaf, leaf.dtype)


class SebulbaTrainer:
    """PPO learning from actors on host envs (see the module docstring)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config, self.ppo = config, config.ppo
        self.make_parallel_env: Callable[[], Any] = parallel_env_factory(config)
        probe = from_pettingzoo(self.make_parallel_env, 1)
        self.layout = HostLayout.of(probe)
        probe.close()
        check_minibatches(config, self.layout.max_agents)
        self.networks: Networks = make_networks(config.model, self.layout, config.ppo)
        self.num_updates = config.num_updates
        self.optimizer = make_optimizer(config.ppo, config.optimizer, self.num_updates)
        self.policy = ActingFunctions.build(self.networks)
        self._learn = jax.jit(partial(learn_step, self.networks, self.optimizer, self.ppo))
        self.actors: ThreadActors | RayActors | None = None
        self._owns_ray = False  # close() shuts Ray down only if this trainer started it
        self.lags: list[int] = []  # every rollout's policy lag, in the order learned from

    @property
    def env_steps_per_update(self) -> int:
        """rollout_length x envs.0.num_envs: env steps one update learns from."""
        return self.config.steps_per_update

    def init(self, key: jax.Array) -> SebulbaState:
        """Fresh parameters and optimiser state (leading seed axis of 1)."""
        key, init_key = jax.random.split(key)
        params = self.networks.init(init_key, self.layout)
        state = SebulbaState(params, self.optimizer.init(params), key, jnp.zeros((), jnp.int32))
        return jax.tree.map(lambda leaf: _strong(leaf)[None], state)

    def abstract_state(self) -> SebulbaState:
        """Shapes and dtypes of a SebulbaState (for restoring checkpoints)."""
        return jax.eval_shape(self.init, jax.random.key(0))

    def update(self, state: SebulbaState, num_updates: int = 1) -> tuple[SebulbaState, dict]:
        """`num_updates` updates; metrics f32[1, num_updates] each (see the module docstring)."""
        if self.actors is None:
            self._start_actors(state)
        rows = []
        for _ in range(num_updates):
            version = int(state.update[0])
            rollouts = self.actors.take()
            lags = [version - rollout.version for rollout in rollouts]
            self.lags.extend(lags)
            batch = join_rollouts(rollouts)
            state, losses = self._learn(state, batch)
            self.actors.publish(_actor_params(state), version + 1)
            row = episode_metrics(batch)
            row.update({f"loss/{name}": float(value) for name, value in losses._asdict().items()})
            row.update(
                {"policy_lag/max": float(max(lags)), "policy_lag/mean": float(np.mean(lags))}
            )
            if isinstance(self.actors, RayActors):
                row["actor_restarts"] = float(self.actors.total_restarts)
            rows.append(row)
        metrics = {name: np.array([[row[name] for row in rows]], np.float32) for name in rows[0]}
        return state, metrics

    def _start_actors(self, state: SebulbaState) -> None:
        """Every actor with its own envs, key and memory (seeded by `actor_seeds`); fresh
        episodes."""
        sebulba, version = self.config.sebulba, int(state.update[0])
        seeds = actor_seeds(self.config.run.seed, state.key[0], version, sebulba.num_actors)
        params = _actor_params(state)
        if sebulba.backend == "ray":
            ray = import_ray()
            self._owns_ray = start_ray(ray, sebulba)
            self.actors = RayActors(ray, self.config, seeds, params, version)
            return
        workers = [self._thread_worker(seed) for seed in seeds]
        self.actors = ThreadActors(workers, params, version, sebulba.queue_size)

    def _thread_worker(self, seed: ActorSeed) -> RolloutWorker:
        """An actor thread's worker: its own envs and memory, the trainer's acting functions."""
        per_actor = envs_per_actor(self.config)
        envs = HostVectorEnv(self.make_parallel_env, per_actor, seed=seed.env_seed)
        carries = self.networks.initialize_carry((per_actor, self.layout.max_agents))
        spec = RolloutSpec(self.ppo.rollout_length, self.ppo.bootstrap_truncation)
        return RolloutWorker(envs, self.policy, spec, seed.key, carries)

    def close(self) -> None:
        """Stop every actor (threads joined, Ray actors killed) and Ray if this trainer
        started it."""
        try:
            if self.actors is not None:
                self.actors.close()
        finally:
            self.actors = None
            if self._owns_ray:
                import_ray().shutdown()
                self._owns_ray = False

    @property
    def actor_env_steps(self) -> int:
        """Env steps the actors have taken (threads) or handed over (Ray) so far."""
        return 0 if self.actors is None else self.actors.env_steps


def _actor_params(state: SebulbaState) -> Any:
    """The one seed's parameters, as the actors read them (on the CPU: actors act there)."""
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    return jax.device_put(params, jax.devices("cpu")[0])
