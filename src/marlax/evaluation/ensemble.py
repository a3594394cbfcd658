"""Assemble a policy ensemble from trained runs: members, their checks and their weights.

    request = EnsembleRequest(rule="bma")
    ensemble = load_ensemble(Path("runs"), ["run-a", "run-b:1", "run-c"], request)
    ensemble.policy          # an EnsemblePolicy, a MemoryPolicy of ensemble.env
    ensemble.members_used    # ("run-a:0", "run-b:1")  -- run-c had no checkpoint
    ensemble.dropped         # {"run-c:0": "run: ... a run with at least one checkpoint ..."}
    ensemble.weights         # [0.71, 0.29] the weights actually used (members_used order)

A member is "RUN" (seed 0) or "RUN:SEED". A member that fails to load (no such run, no
checkpoint, a NaN parameter) is dropped and reported; the others keep their given weights,
renormalised. Members must play the same env with the same agents and spaces.

Weights by rule (`marlax.ensembles.rules`): "average" equal; "soft_vote" and "vote" the given
`weights` or equal; "weighted" the given weights, or else `performance_weights(kind="rank")`
of the members' validation returns; "bma" `bma_weights(validation_return / temperature)`:
the posterior of "which member is best" when a member's log-evidence is its mean validation
team return over `temperature` (RL as inference: p(optimal | policy) ∝ exp(return / T)).
Validation episodes use their own key (`validation_seed`), not the evaluation's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from marlax.algorithms.ensemble.policy import EnsemblePolicy, check_rule
from marlax.algorithms.trained import RunPolicy, load_run_policy, parse_member
from marlax.ensembles.rules import bma_weights, performance_weights
from marlax.errors import ConfigError
from marlax.evaluation.episodes import check_episode_settings, jitted_run_episodes
from marlax.validate import require, require_number, require_positive_int

VALIDATION_SEED = 1_000_003
"""Default key of the validation episodes (kept apart from evaluation seeds 0, 1, ...)."""


@dataclass(frozen=True)
class EnsembleRequest:
    """How to combine the members (see the module docstring)."""

    rule: str = "average"
    weights: tuple[float, ...] | None = None  # one per member spec, before any is dropped
    temperature: float = 1.0
    validation_episodes: int = 64
    validation_seed: int = VALIDATION_SEED
    sample: bool = False
    selector: str | None = None
    checkpoint: int | None = None
    env_overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedEnsemble:
    """An ensemble ready to play, and how it was made."""

    policy: EnsemblePolicy
    members: tuple[RunPolicy, ...]
    members_used: tuple[str, ...]
    dropped: dict[str, str]
    weights: np.ndarray  # f64[K_used], summing to 1
    validation_returns: np.ndarray | None  # f64[K_used] mean team return, when a rule used it

    @property
    def env(self) -> Any:
        return self.members[0].env


def load_ensemble(runs_dir: Path, specs: list[str], request: EnsembleRequest) -> LoadedEnsemble:
    """The ensemble of `specs` combined by `request.rule` (see the module docstring).

    Raises:
        ConfigError: fewer than one member loads; members of different envs or spaces; a bad
            rule, weight count or temperature.
    """
    require(len(specs) >= 1, "ensemble", specs, "at least one RUN")
    given = _given_weights(request.weights, len(specs))
    loaded, kept, dropped = _load_members(runs_dir, specs, request)
    if not loaded:
        raise ConfigError("ensemble", specs, f"at least one member that loads ({dropped})")
    _check_same_env(loaded, kept, specs)
    discrete = hasattr(loaded[0].env.action_space, "n")
    check_rule(request.rule, discrete=discrete)
    weights, returns = _weights(loaded, request, given[list(kept)])
    policy = EnsemblePolicy(
        members=tuple(member.policy for member in loaded),
        weights=jnp.asarray(weights, jnp.float32),
        rule=request.rule,
        discrete=discrete,
        sample=request.sample,
    )
    used = tuple(f"{member.folder.name}:{member.seed_index}" for member in loaded)
    return LoadedEnsemble(policy, tuple(loaded), used, dropped, weights, returns)


def _given_weights(weights: tuple[float, ...] | None, count: int) -> np.ndarray:
    if weights is None:
        return np.ones(count)
    require(len(weights) == count, "weights", list(weights), f"{count} numbers, one per member")
    for weight in weights:
        require_number("weights", weight, 0.0)
    require(sum(weights) > 0, "weights", list(weights), "at least one positive weight")
    return np.asarray(weights, dtype=np.float64)


def _load_members(
    runs_dir: Path, specs: list[str], request: EnsembleRequest
) -> tuple[list[RunPolicy], list[int], dict[str, str]]:
    """The members that load (and their spec indices); the others with the reason."""
    loaded, kept, dropped = [], [], {}
    for index, spec in enumerate(specs):
        name, seed_index = parse_member(spec)
        try:
            member = load_run_policy(
                runs_dir,
                name,
                selector=request.selector,
                seed_index=seed_index,
                sample=False,
                checkpoint=request.checkpoint,
                env_overrides=request.env_overrides,
            )
        except ConfigError as error:
            dropped[f"{name}:{seed_index}"] = str(error)
            continue
        if not _finite_parameters(member.policy):
            dropped[f"{name}:{seed_index}"] = "its parameters are not all finite"
            continue
        loaded.append(member)
        kept.append(index)
    return loaded, kept, dropped


def _finite_parameters(policy: Any) -> bool:
    leaves = [leaf for leaf in jax.tree.leaves(policy) if jnp.issubdtype(leaf.dtype, jnp.floating)]
    return all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves)


def _check_same_env(members: list[RunPolicy], kept: list[int], specs: list[str]) -> None:
    """Every member plays the first member's env with the same agents and spaces."""
    first = members[0]
    for member, index in zip(members[1:], kept[1:], strict=True):
        same = member.env_name == first.env_name and member.env.num_agents == first.env.num_agents
        same = same and repr(member.env.observation_space) == repr(first.env.observation_space)
        same = same and repr(member.env.action_space) == repr(first.env.action_space)
        require(
            same,
            "ensemble",
            specs[index],
            f"a run of the same env as {specs[kept[0]]} ({first.env_name}, "
            f"{first.env.num_agents} agents, the same spaces)",
        )


def _weights(
    members: list[RunPolicy], request: EnsembleRequest, given: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """(weights f64[K] summing to 1, validation returns f64[K] or None)."""
    rule = request.rule
    require(
        request.weights is None or rule not in ("average", "bma"),
        "weights",
        list(request.weights or ()),
        f"no --weights with --rule {rule} (use --rule weighted or soft_vote)",
    )
    if rule == "bma":
        require_number("temperature", request.temperature, 0.0, open_low=True)
        returns = validation_returns(members, request)
        weights = bma_weights(jnp.asarray(returns), request.temperature)
        return np.asarray(weights, dtype=np.float64), returns
    if rule == "weighted" and request.weights is None:
        returns = validation_returns(members, request)
        weights = performance_weights(jnp.asarray(returns), kind="rank")
        return np.asarray(weights, dtype=np.float64), returns
    return given / given.sum(), None


def validation_returns(members: list[RunPolicy], request: EnsembleRequest) -> np.ndarray:
    """f64[K] each member's mean team return over the validation episodes (same keys)."""
    episodes = require_positive_int("validation_episodes", request.validation_episodes)
    check_episode_settings(members[0].env, episodes)
    key = jax.random.key(request.validation_seed)
    means = []
    for member in members:
        results = jitted_run_episodes(
            key, env=member.env, policy=member.policy, num_episodes=episodes
        )
        means.append(float(jnp.mean(results.returns)))
    return np.asarray(means, dtype=np.float64)
