"""`PBTTrainer`: PPO members on the seed axis, exploited and explored inside one jitted program.

    trainer = PBTTrainer(config)                              # config.algorithm == "pbt"
    state = trainer.init(jax.random.key(config.run.seed))     # PBTState, member axis S
    state, metrics = trainer.update(state)                    # run.log_every updates

Every update is PPO's (`Trainer.seeds_update`) with each member's learning rate, entropy
coefficient and clip passed as traced overrides; after each update the member's return joins
its interval sum, and at every multiple of `pbt.interval` updates `_exploit` (a `lax.cond`
inside the scan, not a host step) ranks the members and replaces the bottom quantile.
The members' PPO part is made exactly as plain PPO makes it from the same key, so with
exploiting off (an interval longer than the run) and `pbt.init = "config"` every member
trains exactly as the PPO seed of that index.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding, PartitionSpec

from marlax.algorithms.pbt.exploit import (
    choose_sources,
    copy_members,
    explore,
    gather,
    interval_fitness,
    prior_of,
    sample_prior,
)
from marlax.algorithms.pbt.types import HYPERPARAMETERS, Hyperparams, PBTState
from marlax.algorithms.ppo.trainer import Trainer
from marlax.algorithms.ppo.types import HyperparamOverrides
from marlax.config.population import exploit_count
from marlax.config.schema import TrainConfig
from marlax.validate import require, require_positive_int

PBT_KEY_STREAM = 1
"""`fold_in` index of PBT's own key, apart from the split that gives the members theirs."""


class PBTTrainer:
    """Population-based training of PPO (see the module docstring for the call pattern)."""

    def __init__(self, config: TrainConfig, devices: list | None = None) -> None:
        require(config.algorithm == "pbt", "algorithm", config.algorithm, '"pbt"')
        self.config = config
        self.pbt = config.pbt
        self.ppo = Trainer(config, devices)
        self.prior = prior_of(config.pbt)
        self.num_members = config.run.num_seeds
        self.exploit_count = exploit_count(self.num_members, config.pbt.quantile)
        self._init: Callable | None = None
        self._sharding: PBTState | None = None
        self._updates: dict[int, Callable] = {}

    @property
    def num_updates(self) -> int:
        return self.ppo.num_updates

    @property
    def env_steps_per_update(self) -> int:
        """Env steps one update collects per member."""
        return self.ppo.env_steps_per_update

    # ---- the programs -----------------------------------------------------------------------

    def _initial_hyperparams(self, key: jax.Array) -> Hyperparams:
        if self.pbt.init == "prior":
            return sample_prior(key, self.num_members, self.prior)
        ppo = self.config.ppo
        return Hyperparams(
            *(
                jnp.full((self.num_members,), getattr(ppo, name), jnp.float32)
                for name in HYPERPARAMETERS
            )
        )

    def _init_population(self, key: jax.Array) -> PBTState:
        """The members exactly as PPO's `Trainer.init(key)` makes them, plus PBT's part."""
        train = self.ppo.init_seeds(jax.random.split(key, self.num_members))
        hyper_key, pbt_key = jax.random.split(jax.random.fold_in(key, PBT_KEY_STREAM))
        zeros = jnp.zeros((self.num_members,), jnp.float32)
        return PBTState(
            train=train,
            hyperparams=self._initial_hyperparams(hyper_key),
            return_sum=zeros,
            return_count=zeros,
            fitness=jnp.full((self.num_members,), jnp.nan, jnp.float32),
            key=pbt_key,
        )

    def _overrides(self, hyperparams: Hyperparams) -> HyperparamOverrides:
        scale = hyperparams.learning_rate / jnp.float32(self.config.ppo.learning_rate)
        return HyperparamOverrides(scale, hyperparams.entropy_coef, hyperparams.clip_eps)

    def _exploit(self, state: PBTState) -> tuple[PBTState, jax.Array]:
        """Rank by the interval's fitness, copy, explore; start the next interval.

        Returns:
            (the state, source i32[S]: whom each member copied, itself when kept).
        """
        fitness = interval_fitness(state.return_sum, state.return_count)
        key, choice_key, explore_key = jax.random.split(state.key, 3)
        source = choose_sources(choice_key, fitness, self.exploit_count)
        copied = gather(state.hyperparams, source)
        explored = explore(
            explore_key, copied, self.prior, self.pbt.resample_probability, self.pbt.perturb_factors
        )
        replaced = source != jnp.arange(self.num_members)
        hyperparams = jax.tree.map(lambda new, old: jnp.where(replaced, new, old), explored, copied)
        zeros = jnp.zeros_like(state.return_sum)
        state = state.replace(
            train=copy_members(state.train, source),
            hyperparams=hyperparams,
            return_sum=zeros,
            return_count=zeros,
            fitness=fitness,
            key=key,
        )
        return state, source

    def _keep(self, state: PBTState) -> tuple[PBTState, jax.Array]:
        return state, jnp.arange(self.num_members)

    def _one_update(self, state: PBTState, _: None) -> tuple[PBTState, dict]:
        """Carries the population; stacks metrics f32[S] per update (PPO's and `pbt/*`)."""
        train, metrics = self.ppo.seeds_update(state.train, self._overrides(state.hyperparams))
        returns = metrics["return"]
        measured = jnp.isfinite(returns)
        state = state.replace(
            train=train,
            return_sum=state.return_sum + jnp.where(measured, returns, 0.0),
            return_count=state.return_count + measured.astype(jnp.float32),
        )
        due = train.update[0] % self.pbt.interval == 0
        state, source = jax.lax.cond(due, self._exploit, self._keep, state)
        metrics = dict(metrics)
        for name in HYPERPARAMETERS:
            metrics[f"pbt/{name}"] = getattr(state.hyperparams, name)
        metrics["pbt/exploited"] = jnp.broadcast_to(due, returns.shape).astype(jnp.float32)
        metrics["pbt/copied_from"] = source.astype(jnp.float32)
        metrics["pbt/fitness"] = state.fitness
        return state, metrics

    def _run_updates(self, state: PBTState, num_updates: int) -> tuple[PBTState, dict]:
        """`num_updates` updates of the population; metrics f32[S, U] each."""
        state, metrics = jax.lax.scan(self._one_update, state, None, length=num_updates)
        return state, jax.tree.map(lambda metric: jnp.swapaxes(metric, 0, 1), metrics)

    def _state_sharding(self, state: PBTState) -> PBTState:
        """The members' PPO part as PPO shards it; PBT's arrays replicated."""
        replicated = NamedSharding(self.ppo.mesh, PartitionSpec())
        rest = jax.tree.map(lambda _: replicated, state.replace(train=None))
        return rest.replace(train=self.ppo.state_sharding(state.train))

    def _compiled(self) -> None:
        if self._init is not None:
            return
        abstract = self.abstract_state()
        self._sharding = self._state_sharding(abstract)
        self._init = jax.jit(self._init_population, out_shardings=self._sharding)

    def _update_program(self, num_updates: int) -> Callable:
        self._compiled()
        if num_updates not in self._updates:
            replicated = NamedSharding(self.ppo.mesh, PartitionSpec())
            self._updates[num_updates] = jax.jit(
                partial(self._run_updates, num_updates=num_updates),
                in_shardings=(self._sharding,),
                out_shardings=(self._sharding, replicated),
                donate_argnums=0,
            )
        return self._updates[num_updates]

    # ---- the calls --------------------------------------------------------------------------

    def init(self, key: jax.Array) -> PBTState:
        """A fresh population of `run.num_seeds` members from `key`."""
        self._compiled()
        return self._init(key)

    def update(
        self, state: PBTState, num_updates: int | None = None
    ) -> tuple[PBTState, dict[str, jax.Array]]:
        """`num_updates` (None: `run.log_every`) updates of every member in one jitted call.

        Returns:
            (state, metrics f32[S, U] each): PPO's, plus `pbt/<hyperparameter>` (after the
            update's exploit step), `pbt/exploited` (1 where one ran), `pbt/copied_from`
            (the source, the member itself when kept) and `pbt/fitness` (the last whole
            interval's mean return).
        """
        count = self.config.run.log_every if num_updates is None else num_updates
        require_positive_int("num_updates", count)
        return self._update_program(count)(state)

    def place(self, state: PBTState) -> PBTState:
        """Put a restored (host) state onto this trainer's devices and shardings."""
        self._compiled()
        return jax.device_put(state, self._sharding)

    def abstract_state(self) -> PBTState:
        """Shapes and dtypes of a PBTState (for restoring checkpoints)."""
        return jax.eval_shape(self._init_population, jax.random.key(0))
