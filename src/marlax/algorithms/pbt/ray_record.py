"""The Ray backend's driver-side population record and its exploit step (no Ray needed).

    record = initial_record(config, jax.random.key(config.run.seed))   # as PBTTrainer.init
    record = accumulate(record, returns)             # f32[S, U] of one round of updates
    record, source = exploit(record, config)         # at an interval boundary: who copies whom

The record is everything of `PBTState` except the members' PPO states, which live in the
member actors (`ray_member`). Its key schedule, interval sums and exploit step are those of
`PBTTrainer` (`fold_in(key, PBT_KEY_STREAM)` at the start, then one split into (key, choice,
explore) per exploit step), so the same fitness and key give the same decisions in-graph and
on Ray. `source` (i32[S], the member itself when kept) is the copy still to be made: the
members copy their sources' parameters and optimiser state before their next round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.pbt.exploit import (
    Prior,
    choose_sources,
    explore,
    gather,
    interval_fitness,
    prior_of,
    sample_prior,
)
from marlax.algorithms.pbt.trainer import PBT_KEY_STREAM
from marlax.algorithms.pbt.types import HYPERPARAMETERS, Hyperparams, PBTState
from marlax.config.population import exploit_count
from marlax.config.schema import TrainConfig


@dataclass(frozen=True)
class PopulationRecord:
    """What the driver keeps between rounds (S members; numpy on the host, key a jax key)."""

    hyperparams: Hyperparams  # f32[S] each, after the last exploit step
    return_sum: np.ndarray  # f32[S] sum of the finite per-update returns since the last exploit
    return_count: np.ndarray  # f32[S] how many updates since then measured a return
    fitness: np.ndarray  # f32[S] mean return of the last whole interval (NaN: none measured)
    key: jax.Array  # key[] exploit and explore draws (not per member)
    source: np.ndarray  # i32[S] whose parameters each member takes before its next round
    update: int  # updates every member has made
    params_finite: bool = True  # every member's parameters were finite after its last round


def member_keys(key: jax.Array, num_members: int) -> jax.Array:
    """key[S]: member m's init key, the one `PBTTrainer.init(key)` gives member m."""
    return jax.random.split(key, num_members)


def initial_record(config: TrainConfig, key: jax.Array) -> PopulationRecord:
    """The record of a fresh population from the run's key, as `PBTTrainer.init(key)` makes it."""
    members = config.run.num_seeds
    hyper_key, pbt_key = jax.random.split(jax.random.fold_in(key, PBT_KEY_STREAM))
    if config.pbt.init == "prior":
        # jitted, as in-graph: eager exp/log can round one ulp apart from the fused program
        draw = jax.jit(sample_prior, static_argnums=(1, 2))
        hyperparams = draw(hyper_key, members, prior_of(config.pbt))
    else:
        hyperparams = Hyperparams(
            *(
                jnp.full((members,), getattr(config.ppo, name), jnp.float32)
                for name in HYPERPARAMETERS
            )
        )
    zeros = np.zeros((members,), np.float32)
    return PopulationRecord(
        hyperparams=jax.device_get(hyperparams),
        return_sum=zeros,
        return_count=zeros,
        fitness=np.full((members,), np.nan, np.float32),
        key=pbt_key,
        source=np.arange(members, dtype=np.int32),
        update=0,
    )


def record_of(state: PBTState, update: int) -> PopulationRecord:
    """The record of a saved `PBTState` (its copies are already made: `source` is identity)."""
    host = jax.device_get(state.replace(train=None, key=None))
    members = len(host.return_sum)
    return PopulationRecord(
        hyperparams=host.hyperparams,
        return_sum=np.asarray(host.return_sum),
        return_count=np.asarray(host.return_count),
        fitness=np.asarray(host.fitness),
        key=state.key,
        source=np.arange(members, dtype=np.int32),
        update=update,
    )


def accumulate(record: PopulationRecord, returns: np.ndarray) -> PopulationRecord:
    """Add one round's per-update returns (f32[S, U], NaN: none measured) to the interval sums,
    one update at a time in f32, as `PBTTrainer` adds them."""
    total, count = record.return_sum, record.return_count
    for column in np.asarray(returns, np.float32).T:
        measured = np.isfinite(column)
        total = (total + np.where(measured, column, np.float32(0.0))).astype(np.float32)
        count = (count + measured.astype(np.float32)).astype(np.float32)
    updates = record.update + np.shape(returns)[1]
    return replace(record, return_sum=total, return_count=count, update=updates)


@partial(jax.jit, static_argnums=(4, 5, 6, 7))
def _exploit_draws(
    key: jax.Array,
    return_sum: jax.Array,
    return_count: jax.Array,
    hyperparams: Hyperparams,
    count: int,
    prior: Prior,
    resample_probability: float,
    perturb_factors: tuple[float, float],
) -> tuple[jax.Array, jax.Array, jax.Array, Hyperparams]:
    """(key, fitness f32[S], source i32[S], hyperparams) exactly as `PBTTrainer._exploit`."""
    fitness = interval_fitness(return_sum, return_count)
    key, choice_key, explore_key = jax.random.split(key, 3)
    source = choose_sources(choice_key, fitness, count)
    copied = gather(hyperparams, source)
    explored = explore(explore_key, copied, prior, resample_probability, perturb_factors)
    replaced = source != jnp.arange(fitness.shape[0])
    hyperparams = jax.tree.map(lambda new, old: jnp.where(replaced, new, old), explored, copied)
    return key, fitness, source, hyperparams


def exploit(record: PopulationRecord, config: TrainConfig) -> tuple[PopulationRecord, np.ndarray]:
    """Rank by the interval's fitness, choose sources, explore; start the next interval.

    Returns:
        (the record with the new hyperparameters and `source` to copy, source i32[S]).
    """
    pbt = config.pbt
    count = exploit_count(config.run.num_seeds, pbt.quantile)
    key, fitness, source, hyperparams = _exploit_draws(
        record.key,
        jnp.asarray(record.return_sum),
        jnp.asarray(record.return_count),
        jax.tree.map(jnp.asarray, record.hyperparams),
        count,
        prior_of(pbt),
        pbt.resample_probability,
        pbt.perturb_factors,
    )
    source = np.asarray(source, np.int32)
    zeros = np.zeros_like(record.return_sum)
    record = replace(
        record,
        hyperparams=jax.device_get(hyperparams),
        return_sum=zeros,
        return_count=zeros,
        fitness=np.asarray(fitness),
        key=key,
        source=source,
    )
    return record, source
