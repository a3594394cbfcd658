"""`SebulbaTrainer`: actor threads on host envs, PPO's update on the learner, parameters back.

    trainer = SebulbaTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))    # SebulbaState, leading seed axis 1
    state, metrics = trainer.update(state, 10)               # starts the actors on first use
    trainer.close()                                          # stops and joins them

Each update takes one rollout from every actor (in actor order), joins them into PPO's batch
[T, B, N] with B = envs.0.num_envs, runs PPO's GAE and epochs in one jitted call, and
publishes the new parameters with their version. Metrics per update: the ended episodes'
`return`, `length` and `episodes`, PPO's `loss/*`, and `policy_lag/max` and `policy_lag/mean`
(learner version minus the version each rollout acted with; at most `queue_size` + 1).

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
from marlax.algorithms.sebulba.actor import Actor, ParamsStore, RolloutSpec
from marlax.algorithms.sebulba.host_envs import HostLayout, parallel_env_factory
from marlax.algorithms.sebulba.learner import (
    SebulbaState,
    episode_metrics,
    join_rollouts,
    learn_step,
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
    """PPO learning from actor threads on host envs (see the module docstring)."""

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
        self.actors: list[Actor] = []
        self.store: ParamsStore | None = None
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
        if not self.actors:
            self._start_actors(state)
        rows = []
        for _ in range(num_updates):
            version = int(state.update[0])
            rollouts = [actor.take() for actor in self.actors]
            lags = [version - rollout.version for rollout in rollouts]
            self.lags.extend(lags)
            batch = join_rollouts(rollouts)
            state, losses = self._learn(state, batch)
            self.store.publish(_actor_params(state), version + 1)
            row = episode_metrics(batch)
            row.update({f"loss/{name}": float(value) for name, value in losses._asdict().items()})
            row.update(
                {"policy_lag/max": float(max(lags)), "policy_lag/mean": float(np.mean(lags))}
            )
            rows.append(row)
        metrics = {name: np.array([[row[name] for row in rows]], np.float32) for name in rows[0]}
        return state, metrics

    def _start_actors(self, state: SebulbaState) -> None:
        """One thread per actor, each with its own envs, key and memory; fresh episodes."""
        sebulba, run = self.config.sebulba, self.config.run
        per_actor = envs_per_actor(self.config)
        version = int(state.update[0])
        self.store = ParamsStore(_actor_params(state), version)
        spec = RolloutSpec(self.ppo.rollout_length, self.ppo.bootstrap_truncation)
        # fresh streams per start: a resumed run does not replay the first start's episodes
        actor_keys = jax.random.split(jax.random.fold_in(state.key[0], version), sebulba.num_actors)
        for index in range(sebulba.num_actors):
            seed = int(np.random.SeedSequence([run.seed, version, index]).generate_state(1)[0])
            envs = HostVectorEnv(self.make_parallel_env, per_actor, seed=seed % 2**31)
            carries = self.networks.initialize_carry((per_actor, self.layout.max_agents))
            actor = Actor(
                index,
                envs,
                self.policy,
                self.store,
                spec,
                actor_keys[index],
                sebulba.queue_size,
                carries,
            )
            actor.start()
            self.actors.append(actor)

    def close(self) -> None:
        """Stop and join every actor thread and close its envs."""
        for actor in self.actors:
            actor.stop_requested.set()
        for actor in self.actors:
            actor.stop()
        self.actors = []

    @property
    def actor_env_steps(self) -> int:
        """Env steps every actor has taken so far (more than learned: rollouts in the queues)."""
        return sum(actor.env_steps for actor in self.actors)


def _actor_params(state: SebulbaState) -> Any:
    """The one seed's parameters, as the actors read them (on the CPU: actors act there)."""
    params = jax.tree.map(lambda leaf: leaf[0], state.params)
    return jax.device_put(params, jax.devices("cpu")[0])
