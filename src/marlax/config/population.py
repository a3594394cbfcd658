"""The population-based training section (`pbt`) and the checks that need the whole config.

    {"algorithm": "pbt", "env": {...}, "ppo": {...}, "run": {"num_seeds": 8},
     "pbt": {"interval": 10, "quantile": 0.25, "resample_probability": 0.25}}

PBT (Jaderberg et al. 2017) trains `run.num_seeds` PPO members at once (the seed axis is the
population). Every `interval` updates the members are ranked by their mean return over the
interval; each of the bottom `quantile` copies the parameters, optimiser state and
hyperparameters of a member drawn from the top `quantile`, then explores: each
hyperparameter is, with probability `resample_probability`, drawn again from its prior
range, otherwise multiplied by one of `perturb_factors` (picked at random) and clipped to
that range. The defaults are Ray Tune's `PopulationBasedTraining` ones. `backend = "ray"` trains
each member in a Ray actor of its own (`marlax.algorithms.pbt.ray_loop`) with the same rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marlax.config import checks
from marlax.config.validators import check_fields, choice, integer, interval, number, spec
from marlax.errors import ConfigError
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

PBT_INITS = ("prior", "config")
PBT_BACKENDS = ("in_graph", "ray")


def _positive_interval(field: str, value: Any) -> tuple[float, float]:
    low, high = interval()(field, value)
    require(low > 0.0, field, value, "[low, high] with 0 < low < high (a log-uniform prior)")
    return low, high


def _clip_interval(field: str, value: Any) -> tuple[float, float]:
    low, high = interval()(field, value)
    require(low > 0.0 and high < 1.0, field, value, "[low, high] with 0 < low < high < 1 (a clip)")
    return low, high


@dataclass(frozen=True, kw_only=True)
class PBTConfig:
    """Population-based training over PPO's learning rate, entropy bonus and clip."""

    interval: int = spec(10, integer(1))
    """Updates between exploit steps (>= 1); one larger than the run turns exploiting off."""
    quantile: float = spec(0.25, number(0.0, 0.5, open_low=True))
    """Fraction of the population replaced at each exploit step, and the fraction it copies
    from, in (0, 0.5]: ceil(quantile * S) members, at most floor(S / 2)."""
    resample_probability: float = spec(0.25, number(0.0, 1.0))
    """Chance, per hyperparameter of a replaced member, of a fresh draw from its prior range
    instead of a perturbation, in [0, 1]."""
    perturb_factors: tuple[float, float] = spec((0.8, 1.2), _positive_interval)
    """The two factors a perturbation multiplies by, one picked at random ([low, high], > 0)."""
    learning_rate_range: tuple[float, float] = spec((1e-4, 1e-2), _positive_interval)
    """Prior of the learning rate (log-uniform; before `ppo.anneal_lr`), [low, high] > 0."""
    entropy_coef_range: tuple[float, float] = spec((1e-4, 1e-1), _positive_interval)
    """Prior of the entropy coefficient (log-uniform), [low, high] > 0."""
    clip_eps_range: tuple[float, float] = spec((0.05, 0.5), _clip_interval)
    """Prior of the surrogate's ratio clip (uniform), 0 < low < high < 1."""
    init: str = spec("prior", choice(PBT_INITS))
    """Members' first hyperparameters: "prior" (drawn from the ranges above) or "config"
    (every member starts at ppo.learning_rate, ppo.entropy_coef and ppo.clip_eps)."""
    backend: str = spec("in_graph", choice(PBT_BACKENDS))
    """Where the members train: "in_graph" (one program; the seed axis is the population) or
    "ray" (each member a Ray actor in its own process, restarted from its last checkpoint when
    it dies; needs `pip install 'marlax[serve]'`)."""
    max_restarts: int = spec(3, integer(0))
    """Ray backend: how often Ray restarts a member actor that died (>= 0); a restarted member
    resumes from its last checkpoint and redoes the round it was in."""
    member_cpus: float = spec(1.0, number(0.0))
    """Ray backend: logical CPUs Ray reserves for each member actor (>= 0; placement only: a
    member's XLA uses the threads it gets). The cluster must hold num_seeds x member_cpus."""

    def __post_init__(self) -> None:
        check_fields(self)


def exploit_count(num_members: int, quantile: float) -> int:
    """Members replaced (and members copied from) per exploit step: ceil(q * S) <= S // 2."""
    return min(math.ceil(quantile * num_members), num_members // 2)


def check_population(config: TrainConfig) -> None:
    """PPO's checks of the whole config (its members are PPO learners), and a population of
    at least two members.

    Raises:
        ConfigError: on `envs`, `model.*`, `ppo.num_minibatches` or `run.devices` (as for
            PPO), or `run.num_seeds` (fewer than 2).
    """
    envs = [task.make_env() for task in config.envs]
    if config.multi_task:
        checks.check_tasks_compatible([task.name for task in config.envs], envs)
    checks.check_model(config, envs)
    checks.check_minibatches(config, max(env.num_agents for env in envs))
    checks.check_devices(config)
    members = config.run.num_seeds
    if members < 2:  # then exploit_count >= 1 for every quantile in (0, 0.5]
        raise ConfigError(
            "run.num_seeds",
            members,
            "at least 2 for algorithm pbt (the seed axis is the population)",
        )


__all__ = ["PBT_BACKENDS", "PBT_INITS", "PBTConfig", "check_population", "exploit_count"]
