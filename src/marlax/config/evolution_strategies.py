"""The evolution-strategies section (`es`) and the checks that need its env.

    {"algorithm": "es", "env": {"name": "simple_spread", "num_envs": 4},
     "model": {"name": "mlp"}, "es": {"strategy": "open_es", "population_size": 32}}

An ES run searches the policy network's parameters (the actor of `model`, its value head left
out) with an evosax strategy: every generation samples `population_size` parameter vectors,
plays `envs.0.num_envs` whole episodes with each (the same episodes for every member), and
tells the strategy each member's mean team return. The distribution's mean is played too, for
the `return` metric. One generation is one update of the host loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import jax
import jax.numpy as jnp

from marlax.config.checks import check_model
from marlax.config.validators import boolean, check_fields, choice, integer, number, spec
from marlax.envs.base import Env
from marlax.models.registry import make_model_for_spaces
from marlax.validate import require

if TYPE_CHECKING:
    from marlax.config.schema import TrainConfig

STRATEGIES = ("cma_es", "open_es", "snes")
FITNESS_SHAPINGS = ("centered_rank", "standardize", "normalize", "raw")
DEPLOYED = ("mean", "best")
MAX_CMA_DIMENSIONS = 4096
"""CMA-ES keeps D x D covariance, eigenbasis and scaling matrices per seed and decomposes one
each generation (O(D^3)): beyond this many searched parameters use "open_es" or "snes"."""


@dataclass(frozen=True, kw_only=True)
class ESConfig:
    """Evolution strategies (evosax) on the policy network's parameters."""

    strategy: str = spec("open_es", choice(STRATEGIES))
    """The evosax strategy: "cma_es" (CMA_ES: full covariance, for at most
    `MAX_CMA_DIMENSIONS` = 4096 parameters), "open_es" (Open_ES, Salimans et al. 2017:
    antithetic Gaussian perturbations and an Adam step on the mean) or "snes" (SNES: a
    separable natural ES with one step size per parameter)."""
    population_size: int = spec(32, integer(2))
    """P, parameter vectors evaluated per generation (>= 2; even for "open_es" with
    `antithetic`)."""
    sigma_init: float = spec(0.05, number(0.0, open_low=True))
    """Initial standard deviation of the search distribution, in parameter units (> 0)."""
    learning_rate: float = spec(0.03, number(0.0, open_low=True))
    """"open_es": the Adam step size on the mean (> 0). CMA-ES and SNES set their own rates."""
    sigma_decay: float = spec(1.0, number(0.0, 1.0, open_low=True))
    """"open_es": sigma is multiplied by this every generation, in (0, 1] (1 = constant)."""
    sigma_min: float = spec(0.0, number(0.0))
    """"open_es": the floor of the decayed sigma (>= 0, at most sigma_init)."""
    antithetic: bool = spec(True, boolean())
    """"open_es": mirrored perturbations (+z and -z), which needs an even population."""
    fitness_shaping: str = spec("centered_rank", choice(FITNESS_SHAPINGS))
    """"open_es": how returns become the weights of its gradient estimate: "centered_rank"
    (ranks scaled to [-0.5, 0.5], Salimans et al.), "standardize" (z-scores), "normalize" (to
    [-1, 1]) or "raw". CMA-ES and SNES always use their own rank weights."""
    weight_decay: float = spec(0.0, number(0.0))
    """L2 penalty added to every member's fitness before shaping: fitness = -return +
    weight_decay * |theta|^2 (>= 0; 0 = none)."""
    total_env_steps: int = spec(1_000_000, integer(1))
    """Environment steps to train for (>= one generation): a generation takes
    (population_size + 1) x num_envs x max_steps, the +1 being the mean's evaluation."""
    deploy: str = spec("mean", choice(DEPLOYED))
    """Which parameters `marlax enjoy`/`eval` play: "mean" (the search distribution's mean) or
    "best" (the member with the highest measured return so far; measured on num_envs episodes,
    so an optimistic pick)."""

    def __post_init__(self) -> None:
        check_fields(self)
        require(
            self.sigma_min <= self.sigma_init,
            "sigma_min",
            self.sigma_min,
            f"at most sigma_init = {self.sigma_init}",
        )


def env_steps_per_generation(es: ESConfig, num_envs: int, env: Env) -> int:
    """(population_size + 1) x num_envs x max_steps: what one generation plays."""
    return (es.population_size + 1) * num_envs * env.max_steps


def searched_dimensions(config: TrainConfig, env: Env) -> int:
    """D, the actor's parameters less its value head (the value is never read by ES)."""
    model = config.model
    actor = make_model_for_spaces(
        model.name,
        env.observation_space,
        env.action_space,
        encoder_settings=model.encoder,
        log_std_init=model.log_std_init,
        dtype=model.dtype,
        **model.core,
    )
    space = env.observation_space
    obs = jax.ShapeDtypeStruct((1, 1, *space.shape), jnp.dtype(space.dtype))
    reset = jax.ShapeDtypeStruct((1, 1), jnp.bool_)

    def _init(key: jax.Array, obs: jax.Array, reset: jax.Array) -> dict:
        return actor.init(key, actor.initialize_carry((1, 1)), obs, reset)

    params = jax.eval_shape(_init, jax.random.key(0), obs, reset)
    value_head = params["params"]["head"]["value"]
    total = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))
    return total - sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(value_head))


def check_es(config: TrainConfig, envs: list[Env]) -> None:
    """What ES needs: one task, a model for its spaces, a budget of one generation, an even
    antithetic population, and few enough parameters for CMA-ES.

    Raises:
        ConfigError: on `envs`, `model.*`, `es.population_size`, `es.strategy` or
            `es.total_env_steps`.
    """
    require(len(envs) == 1, "envs", [task.name for task in config.envs], "one task for es")
    check_model(config, envs)
    es = config.es
    require(
        es.strategy != "open_es" or not es.antithetic or es.population_size % 2 == 0,
        "es.population_size",
        es.population_size,
        "an even number for open_es with antithetic sampling (members come in +z/-z pairs)",
    )
    if es.strategy == "cma_es":
        dimensions = searched_dimensions(config, envs[0])
        require(
            dimensions <= MAX_CMA_DIMENSIONS,
            "es.strategy",
            es.strategy,
            f"open_es or snes for a policy of {dimensions} parameters (cma_es keeps D x D "
            f"matrices: at most {MAX_CMA_DIMENSIONS}; or a smaller model)",
        )
    steps = env_steps_per_generation(es, config.envs[0].num_envs, envs[0])
    require(
        es.total_env_steps >= steps,
        "es.total_env_steps",
        es.total_env_steps,
        f"at least {steps} = (population_size {es.population_size} + 1) x num_envs "
        f"{config.envs[0].num_envs} x max_steps {envs[0].max_steps} (one generation)",
    )


__all__ = [
    "DEPLOYED",
    "FITNESS_SHAPINGS",
    "MAX_CMA_DIMENSIONS",
    "STRATEGIES",
    "ESConfig",
    "check_es",
    "env_steps_per_generation",
    "searched_dimensions",
]
