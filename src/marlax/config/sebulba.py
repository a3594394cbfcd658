"""The actor-learner split's section (`sebulba`): PPO on host-stepped PettingZoo envs.

    {"algorithm": "sebulba", "env": {"name": "simple_spread", "num_envs": 64},
     "ppo": {...}, "sebulba": {"num_actors": 2, "queue_size": 1}}

    {"algorithm": "sebulba", "env": {"name": "simple_spread", "num_envs": 8},
     "sebulba": {"host_env": "pettingzoo:magent2.environments.battle_v4",
                 "host_env_params": {"map_size": 16}}}

The learner is PPO (section `ppo`, model `model`); `envs.0.num_envs` host envs are split
evenly over `num_actors` actors: threads of this process (`backend` "threads"), or Ray actors
(`backend` "ray", `ray_max_restarts`, `ray_address`). With `host_env` null the host env is
the task itself wrapped by `to_pettingzoo` (the round trip of a marlax env); with `host_env`
set, that PettingZoo env is trained and the task entry only gives `num_envs` (the config
format needs a marlax task in `envs`; its name is then not used).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from marlax.config.validators import (
    check_fields,
    choice,
    integer,
    mapping,
    optional,
    spec,
    string,
)
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

PETTINGZOO_PREFIX = "pettingzoo:"
"""`host_env` names "pettingzoo:<module>": a module with `parallel_env(**host_env_params)`."""
BACKENDS = ("threads", "ray")
"""What runs the actors: threads of this process, or Ray actors (processes, any host)."""


def _host_env_name(field: str, value: Any) -> str:
    name = string()(field, value)
    require(
        name.startswith(PETTINGZOO_PREFIX) and len(name) > len(PETTINGZOO_PREFIX),
        field,
        value,
        'null, or "pettingzoo:<module with parallel_env>", e.g. '
        '"pettingzoo:magent2.environments.battle_v4"',
    )
    return name


@dataclass(frozen=True, kw_only=True)
class SebulbaConfig:
    """Actors stepping host envs, a learner running PPO's update on their rollouts."""

    num_actors: int = spec(1, integer(1))
    """Actors (>= 1); each owns `envs.0.num_envs / num_actors` host envs."""
    queue_size: int = spec(1, integer(1))
    """Rollouts each actor may have waiting for the learner (>= 1; backend "ray": calls in
    flight per actor). The policy lag (learner version - the version a rollout acted with) is
    at most queue_size + 1."""
    host_env: str | None = spec(None, optional(_host_env_name, "the task via to_pettingzoo"))
    """"pettingzoo:<module>" (e.g. "pettingzoo:magent2.environments.battle_v4"), built as
    `<module>.parallel_env(**host_env_params)`; null = the task `envs.0` through
    `to_pettingzoo` (the round trip of a marlax env)."""
    host_env_params: dict[str, Any] = spec({}, mapping())
    """Settings passed to `parallel_env` of `host_env`."""
    backend: str = spec("threads", choice(BACKENDS))
    """"threads": actor threads in this process; "ray": each actor a Ray actor (its own
    process, on any host of a Ray cluster), needing `pip install 'marlax[serve]'`."""
    ray_max_restarts: int = spec(3, integer(0))
    """backend "ray": times Ray restarts one killed actor (>= 0) before the run stops."""
    ray_address: str | None = spec(None, optional(string(), "$RAY_ADDRESS, else start Ray here"))
    """backend "ray": the cluster to join ("host:port" of `ray start --head`); null = the
    RAY_ADDRESS environment variable, else a new local Ray instance."""

    def __post_init__(self) -> None:
        check_fields(self)


def envs_per_actor(config: TrainConfig) -> int:
    """B_a: the host envs each actor steps."""
    return config.envs[0].num_envs // config.sebulba.num_actors


def check_sebulba(config: TrainConfig) -> None:
    """One task split evenly over the actors, one seed, a per-agent critic, >= 1 update.

    Raises:
        ConfigError: on `envs`, `envs.0.num_envs`, `run.num_seeds`, `ppo.critic` or
            `ppo.total_env_steps`.
    """
    names = [task.name for task in config.envs]
    require(len(config.envs) == 1, "envs", names, "one task for sebulba")
    actors = config.sebulba.num_actors
    num_envs = config.envs[0].num_envs
    require(
        num_envs % actors == 0,
        "envs.0.num_envs",
        num_envs,
        f"a multiple of sebulba.num_actors = {actors} (each actor steps an equal share)",
    )
    require(
        config.run.num_seeds == 1,
        "run.num_seeds",
        config.run.num_seeds,
        "1 for sebulba (host envs are not a vmap axis: start one run per seed)",
    )
    require(
        config.model.coordination is None,
        "model.coordination",
        config.model.coordination,
        "null for sebulba (its learner does not keep teams together; use algorithm ppo)",
    )
    require(
        config.model.mean_field is None or config.sebulba.host_env is None,
        "model.mean_field",
        config.model.mean_field,
        f"null with sebulba.host_env {config.sebulba.host_env!r} (a host env exposes no "
        "agent positions or teams; mean-field inputs need a marlax env)",
    )
    require(
        config.ppo.critic != "centralised",
        "ppo.critic",
        config.ppo.critic,
        '"independent" or "shared" for sebulba (host envs give no global state)',
    )
    require(
        config.num_updates >= 1,
        "ppo.total_env_steps",
        config.ppo.total_env_steps,
        f"at least {config.steps_per_update} = rollout_length {config.ppo.rollout_length} x "
        f"num_envs {num_envs} (one update)",
    )


__all__ = ["BACKENDS", "PETTINGZOO_PREFIX", "SebulbaConfig", "check_sebulba", "envs_per_actor"]
