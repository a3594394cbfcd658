"""The whole experiment: for each k build tables, learn Q_k, deploy it on n agents."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np

from marlax.algorithms.meanfield_q.config import MeanFieldConfig, validate_ks
from marlax.algorithms.meanfield_q.constants import SEMANTICS
from marlax.algorithms.meanfield_q.deploy import (
    deploy,
    env_arrays,
    pad_policy,
    paper_policy,
    reference_policy,
    subsample,
)
from marlax.algorithms.meanfield_q.multisets import num_multisets
from marlax.algorithms.meanfield_q.tables import (
    PaperTables,
    ReferenceTables,
    build_paper_tables,
    build_reference_tables,
    table_size,
)
from marlax.algorithms.meanfield_q.tabulate import EnvTables, tabulate_environment
from marlax.algorithms.meanfield_q.train import train_paper, train_reference
from marlax.errors import ConfigError


@dataclass(frozen=True)
class TrainedQ:
    """A learned Q_k with the tables that index it."""

    semantics: str
    k: int
    q: np.ndarray
    """reference: f32[G*S, C*D]; paper: f32[G, P, C]."""
    tables: ReferenceTables | PaperTables
    train_seconds: float
    """Table building plus all sweeps, wall-clock."""


@dataclass(frozen=True)
class KResult:
    """Everything measured for one k."""

    k: int
    num_states: int
    num_entries: int
    train_seconds: float
    deploy_seconds: float
    max_q: float
    mean_return: float
    std_return: float
    mean_curve: np.ndarray
    """f32[T] mean cumulative discounted return after each step, over runs."""
    std_curve: np.ndarray
    """f32[T] its standard deviation over runs."""


def check_semantics(semantics: str) -> str:
    if semantics not in SEMANTICS:
        raise ConfigError("semantics", semantics, f"one of {list(SEMANTICS)}")
    return semantics


def train_q(
    key: jax.Array, env: EnvTables, config: MeanFieldConfig, k: int, semantics: str = "paper"
) -> TrainedQ:
    """Build the tables for one k and run `training_steps` sweeps.

    Args:
        key: PRNG key (Monte Carlo draws of both semantics).
        env: the tabulated environment.
        config: a validated config.
        k: subsample size, 2 <= k <= n.
        semantics: "paper" or "reference".
    """
    check_semantics(semantics)
    simulation = config.simulation
    start = time.perf_counter()
    if semantics == "reference":
        seed = int(jax.random.randint(key, (), 0, 2**31 - 1))
        tables = build_reference_tables(
            env, k, simulation.monte_carlo_samples, np.random.default_rng(seed)
        )
        q = train_reference(
            tables,
            simulation.discount_factor,
            simulation.training_steps,
            simulation.monte_carlo_samples,
        )
    else:
        tables = build_paper_tables(env, k)
        q = train_paper(
            key,
            tables,
            env,
            simulation.discount_factor,
            simulation.training_steps,
            simulation.monte_carlo_samples,
        )
    return TrainedQ(semantics, k, q, tables, time.perf_counter() - start)


def deploy_q(
    key: jax.Array,
    env: EnvTables,
    trained: TrainedQ,
    config: MeanFieldConfig,
    *,
    num_agents: int | None = None,
    max_k: int | None = None,
) -> np.ndarray:
    """Deploy Q_k on n agents: f32[runs, horizon] cumulative discounted returns.

    `max_k` (>= k) pads the policy so that every k up to it shares one compiled program.
    """
    simulation = config.simulation
    num_agents = simulation.num_local_agents if num_agents is None else num_agents
    if not trained.k <= num_agents:
        raise ConfigError("num_local_agents", num_agents, f"at least k={trained.k}")
    max_k = trained.k if max_k is None else max_k
    num_states, _ = table_size(max_k, env, trained.semantics)
    if trained.semantics == "reference":
        policy = pad_policy(reference_policy(trained.q, trained.tables), num_states)
    else:
        num_local, _, num_actions = env.local_reward.shape
        num_pairs = num_multisets(num_local * num_actions, max_k)
        policy = pad_policy(paper_policy(trained.q, trained.tables), num_states, num_pairs)
    curves = deploy(
        key,
        env_arrays(env),
        policy,
        subsample(trained.k, env.local_reward.shape[0], max_k),
        simulation.discount_factor,
        num_agents=num_agents,
        horizon=simulation.horizon,
        num_runs=simulation.deployment_runs,
    )
    return np.asarray(curves)


def run_meanfield(
    config: MeanFieldConfig,
    *,
    ks: tuple[int, ...] | None = None,
    seed: int = 0,
    semantics: str = "paper",
    trust: bool = False,
    on_result: Callable[[KResult, TrainedQ], None] | None = None,
) -> list[KResult]:
    """Train and deploy Q_k for each k (default 2..n).

    Args:
        config: a validated config.
        ks: the subsample sizes; each in [2, n].
        seed: seeds every random draw (config functions, Monte Carlo, deployment).
        semantics: "paper" (default) or "reference".
        trust: compile config functions without the sandbox.
        on_result: called after each k (progress bars, saving Q-tables).

    Returns:
        One KResult per k, in order.
    """
    check_semantics(semantics)
    ks = validate_ks(ks, config, semantics)
    env = tabulate_environment(config, seed=seed, trust=trust)
    key = jax.random.key(seed)
    results = []
    for k in ks:
        train_key, deploy_key = jax.random.split(jax.random.fold_in(key, k))
        trained = train_q(train_key, env, config, k, semantics)
        start = time.perf_counter()
        curves = deploy_q(deploy_key, env, trained, config, max_k=max(ks))
        deploy_seconds = time.perf_counter() - start
        num_states, num_entries = table_size(k, env, semantics)
        result = KResult(
            k=k,
            num_states=num_states,
            num_entries=num_entries,
            train_seconds=trained.train_seconds,
            deploy_seconds=deploy_seconds,
            max_q=float(trained.q.max()),
            mean_return=float(curves[:, -1].mean()),
            std_return=float(curves[:, -1].std()),
            mean_curve=curves.mean(axis=0),
            std_curve=curves.std(axis=0),
        )
        results.append(result)
        if on_result is not None:
            on_result(result, trained)
    return results
