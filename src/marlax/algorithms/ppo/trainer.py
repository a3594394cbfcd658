"""`Trainer`: builds envs, networks and optimiser from a config; one jitted call per log step.

    trainer = Trainer(config)
    state = trainer.init(jax.random.key(config.run.seed))    # TrainState, leading seed axis S
    state, metrics = trainer.update(state)                   # run.log_every updates, one program

Seeds are a vmap axis: every leaf of the state leads with S = `run.num_seeds`. With several local
devices the env batch is sharded over them (`jax.sharding`, a 1-D mesh named "data"); parameters,
optimiser state and keys are replicated, and XLA inserts the reductions. Random draws do not
depend on the sharding, so training equals single-device training up to float reassociation.
In a multi-process run (`jax.distributed`) the mesh spans every process's devices
(`jax.devices()`), so the same programs shard the global env batch over processes x devices.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from marlax.algorithms.common.placement import put
from marlax.algorithms.ppo.networks import Networks, make_networks
from marlax.algorithms.ppo.rollout import reset_runner
from marlax.algorithms.ppo.tasks import Task, TaskLayout
from marlax.algorithms.ppo.types import HyperparamOverrides, TrainState
from marlax.algorithms.ppo.update import (
    Collected,
    collect,
    improve,
    make_optimizer,
    ppo_update,
    task_labels,
)
from marlax.config.schema import TrainConfig
from marlax.validate import require, require_positive_int

DATA_AXIS = "data"
logger = logging.getLogger(__name__)


def build_layout(config: TrainConfig) -> TaskLayout:
    """The tasks of a `TrainConfig`, each env built from the registry."""
    tasks = tuple(
        Task(spec.name, spec.make_env(), spec.num_envs, spec.num_resets) for spec in config.envs
    )
    return TaskLayout(tasks)


def _strong(leaf: jax.Array) -> jax.Array:
    """The leaf without a weak type (keys pass unchanged)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return leaf
    return jax.lax.convert_element_type(leaf, leaf.dtype)


class Trainer:
    """PPO on the tasks of a `TrainConfig` (see the module docstring for the call pattern)."""

    def __init__(self, config: TrainConfig, devices: list | None = None) -> None:
        self.config = config
        self.ppo = config.ppo
        self.layout = build_layout(config)
        self.networks: Networks = make_networks(config.model, self.layout, config.ppo)
        self.num_updates = config.num_updates
        self.optimizer = make_optimizer(config.ppo, config.optimizer, self.num_updates)
        self.devices = self._pick_devices(devices)
        self.mesh = Mesh(np.asarray(self.devices), (DATA_AXIS,))
        self._init: Callable | None = None
        self._sharding: TrainState | None = None
        self._updates: dict[int, Callable] = {}

    @property
    def task_labels(self) -> tuple[str, ...]:
        return task_labels(self.layout)

    @property
    def env_steps_per_update(self) -> int:
        """rollout_length * B_total: environment steps one update collects (per seed)."""
        return self.ppo.rollout_length * self.layout.total_envs

    def _pick_devices(self, devices: list | None) -> list:
        """The devices to shard the env batch over.

        `run.devices` set: exactly that many (each task's num_envs must split evenly, checked
        by the config). Unset: the most local devices that split every task's num_envs, said
        in the log when that is fewer than are available (an odd num_envs trains on one).
        Several processes: all devices of all processes (each process must hold a share).
        """
        if devices is not None:
            return list(devices)
        if jax.process_count() > 1:
            return self._global_devices()
        available = jax.local_devices()
        wanted = self.config.run.devices
        if wanted is not None:
            require(
                wanted <= len(available),
                "run.devices",
                wanted,
                f"at most the {len(available)} local devices",
            )
            return available[:wanted]
        env_counts = [task.num_envs for task in self.layout.tasks]
        usable = max(n for n in range(1, len(available) + 1) if all(b % n == 0 for b in env_counts))
        if usable < len(available):
            logger.warning(
                "training on %d of %d local devices: num_envs %s must split evenly over them "
                "(set run.devices or a num_envs divisible by the device count)",
                usable,
                len(available),
                env_counts,
            )
        return available[:usable]

    def _global_devices(self) -> list:
        """Every device of every process; each task's num_envs must split evenly over them."""
        available = jax.devices()
        where = f"the {len(available)} devices of all {jax.process_count()} processes"
        wanted = self.config.run.devices
        require(
            wanted is None or wanted == len(available),
            "run.devices",
            wanted,
            f"unset or {len(available)} in a multi-process run ({where})",
        )
        for task in self.layout.tasks:
            require(
                task.num_envs % len(available) == 0,
                "num_envs",
                task.num_envs,
                f"a multiple of {len(available)}: the env batch splits over {where}",
            )
        return available

    # ---- shardings -------------------------------------------------------------------------

    def _state_sharding(self, state: TrainState) -> TrainState:
        """Env batch axis (axis 1, after seeds) sharded over devices; all else replicated."""
        replicated = NamedSharding(self.mesh, PartitionSpec())
        batch_split = NamedSharding(self.mesh, PartitionSpec(None, DATA_AXIS))
        runner = jax.tree.map(lambda _: batch_split, state.runner)
        rest = jax.tree.map(lambda _: replicated, state.replace(runner=None))
        return rest.replace(runner=runner)

    def _abstract_state(self) -> TrainState:
        keys = jax.random.split(jax.random.key(0), self.config.run.num_seeds)
        return jax.eval_shape(self._init_seeds, keys)

    # ---- the programs -----------------------------------------------------------------------

    def _init_one(self, key: jax.Array) -> TrainState:
        init_key, runner_key, key = jax.random.split(key, 3)
        params = self.networks.init(init_key, self.layout)
        opt_state = self.optimizer.init(params)
        runner = reset_runner(runner_key, self.layout, self.networks)
        state = TrainState(params, opt_state, runner, key, jnp.zeros((), jnp.int32))
        # a weak-typed leaf would change type after one update and force a second compile
        return jax.tree.map(_strong, state)

    def _init_seeds(self, keys: jax.Array) -> TrainState:
        return jax.vmap(self._init_one)(keys)

    def _updates_one(
        self, state: TrainState, num_updates: int | None = None
    ) -> tuple[TrainState, dict]:
        """`num_updates` (default `run.log_every`) updates of one seed; metrics f32[U] each."""

        def _body(carry: TrainState, _: None) -> tuple:
            return ppo_update(carry, self.layout, self.networks, self.optimizer, self.ppo)

        length = num_updates or self.config.run.log_every
        return jax.lax.scan(_body, state, None, length=length)

    def _updates_seeds(
        self, state: TrainState, num_updates: int | None = None
    ) -> tuple[TrainState, dict]:
        """`num_updates` updates of every seed; metrics f32[S, U] each.

        One seed: `_updates_one`. Several: each update collects for all seeds at once (a vmap
        over seeds of the rollout and GAE) and then learns one seed after another (`lax.map`).
        Vmapping the learning too turns every dense layer into an [S, K, D] batched matmul,
        which XLA:CPU ran ~13% slower per env step at 10 seeds x 16 envs than plain [K, D]
        ones (BENCHMARKS.md, training throughput); the map keeps them 2-D.
        """
        if self.config.run.num_seeds == 1:
            return jax.vmap(partial(self._updates_one, num_updates=num_updates))(state)

        def _body(carry: TrainState, _: None) -> tuple[TrainState, dict]:
            """Carries every seed's state; stacks metrics f32[S] per update."""
            return self.seeds_update(carry)

        length = num_updates or self.config.run.log_every
        state, metrics = jax.lax.scan(_body, state, None, length=length)
        return state, jax.tree.map(lambda metric: jnp.swapaxes(metric, 0, 1), metrics)

    def seeds_update(
        self, state: TrainState, overrides: HyperparamOverrides | None = None
    ) -> tuple[TrainState, dict]:
        """One update of every seed: collect vmapped over seeds, then learn seed by seed.

        Traceable (call it inside a jitted program). Population-based training passes each
        member's hyperparameters as `overrides` (f32[S] each); None means the config's.

        Returns:
            (state, metrics f32[S] each).
        """

        def _collect(seed_state: TrainState) -> Collected:
            return collect(seed_state, self.layout, self.networks, self.ppo)

        def _improve(triple: tuple) -> tuple[TrainState, dict]:
            seed_state, collected, seed_overrides = triple
            optimizer = self.optimizer
            if seed_overrides is not None:
                optimizer = make_optimizer(
                    self.ppo,
                    self.config.optimizer,
                    self.num_updates,
                    seed_overrides.learning_rate_scale,
                )
            return improve(
                seed_state,
                collected,
                self.layout,
                self.networks,
                optimizer,
                self.ppo,
                seed_overrides,
            )

        return jax.lax.map(_improve, (state, jax.vmap(_collect)(state), overrides))

    def init_seeds(self, keys: jax.Array) -> TrainState:
        """Traceable: a TrainState per key (keys: key[S]), as `init` builds them."""
        return self._init_seeds(keys)

    def state_sharding(self, state: TrainState) -> TrainState:
        """The shardings of a TrainState (env batch split over devices, all else replicated)."""
        return self._state_sharding(state)

    def _compiled(self) -> None:
        if self._init is not None:
            return
        self._sharding = self._state_sharding(self._abstract_state())
        self._init = jax.jit(self._init_seeds, out_shardings=self._sharding)

    def _update_program(self, num_updates: int) -> Callable:
        """The jitted program for `num_updates` updates of every seed (built once per count)."""
        self._compiled()
        if num_updates not in self._updates:
            replicated = NamedSharding(self.mesh, PartitionSpec())
            self._updates[num_updates] = jax.jit(
                partial(self._updates_seeds, num_updates=num_updates),
                in_shardings=(self._sharding,),
                out_shardings=(self._sharding, replicated),
                donate_argnums=0,
            )
        return self._updates[num_updates]

    def update_program(self, num_updates: int) -> Callable:
        """The jitted program `update(state, num_updates)` calls (for AOT lowering, profiling)."""
        require_positive_int("num_updates", num_updates)
        return self._update_program(num_updates)

    def init(self, key: jax.Array) -> TrainState:
        """A fresh TrainState for `run.num_seeds` seeds split from `key` (leading axis S)."""
        self._compiled()
        return self._init(jax.random.split(key, self.config.run.num_seeds))

    def update(
        self, state: TrainState, num_updates: int | None = None
    ) -> tuple[TrainState, dict[str, jax.Array]]:
        """PPO updates of every seed in one jitted call.

        Args:
            state: the TrainState (donated: use only the returned one).
            num_updates: U, how many updates; None means `run.log_every`. Each count compiles
                once (the host loop runs the `num_updates % log_every` remainder with it).

        Returns:
            (state, metrics): each metric f32[S, U].
        """
        count = self.config.run.log_every if num_updates is None else num_updates
        require_positive_int("num_updates", count)
        return self._update_program(count)(state)

    def place(self, state: TrainState) -> TrainState:
        """Put a restored (host) state onto this trainer's devices and shardings."""
        self._compiled()
        return jax.tree.map(put, state, self._state_sharding(state))

    def abstract_state(self) -> TrainState:
        """Shapes and dtypes of a TrainState (for restoring checkpoints)."""
        return self._abstract_state()
