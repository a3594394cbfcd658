"""The evosax strategy an `es` config section names, with its parameters.

    strategy = make_strategy(config.es, jnp.zeros(D))
    params = strategy_params(strategy, config.es)
    state = strategy.init(key, x0, params)            # evosax 0.3: it minimises fitness

The solution is always a flat f32[D] vector (the policy's parameters through
`jax.flatten_util.ravel_pytree`), so evosax's own ravel is the identity and its population
is f32[P, D].
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax
from evosax.algorithms import CMA_ES, SNES, Open_ES
from evosax.core import fitness_shaping

from marlax.config.evolution_strategies import ESConfig

_OPEN_ES_SHAPINGS = {
    "centered_rank": fitness_shaping.centered_rank_fitness_shaping_fn,
    "standardize": fitness_shaping.standardize_fitness_shaping_fn,
    "normalize": fitness_shaping.normalize_fitness_shaping_fn,
    "raw": fitness_shaping.identity_fitness_shaping_fn,
}


def _with_weight_decay(shaping: Any, weight_decay: float) -> Any:
    """evosax's L2 penalty around `shaping` (the penalty is added to raw fitness first)."""
    if weight_decay == 0.0:
        return shaping
    return fitness_shaping.add_weight_decay(shaping, weight_decay)


def sigma_schedule(es: ESConfig) -> optax.Schedule:
    """Open-ES's sigma per generation: sigma_init * sigma_decay^g, floored at sigma_min."""
    if es.sigma_decay == 1.0:
        return optax.constant_schedule(es.sigma_init)
    return optax.exponential_decay(
        es.sigma_init, transition_steps=1, decay_rate=es.sigma_decay, end_value=es.sigma_min
    )


def make_strategy(es: ESConfig, solution: jax.Array) -> Any:
    """The evosax strategy of `es.strategy` for flat solutions shaped like `solution` f32[D]."""
    size = es.population_size
    if es.strategy == "open_es":
        return Open_ES(
            population_size=size,
            solution=solution,
            use_antithetic_sampling=es.antithetic,
            optimizer=optax.adam(es.learning_rate),
            std_schedule=sigma_schedule(es),
            fitness_shaping_fn=_with_weight_decay(
                _OPEN_ES_SHAPINGS[es.fitness_shaping], es.weight_decay
            ),
        )
    strategy_class = CMA_ES if es.strategy == "cma_es" else SNES
    return strategy_class(
        population_size=size,
        solution=solution,
        fitness_shaping_fn=_with_weight_decay(
            fitness_shaping.weights_fitness_shaping_fn, es.weight_decay
        ),
    )


def strategy_params(strategy: Any, es: ESConfig) -> Any:
    """The strategy's default parameters with the initial sigma set to `es.sigma_init`
    (Open-ES reads its sigma from the schedule instead)."""
    params = strategy.default_params
    if hasattr(params, "std_init"):
        params = params.replace(std_init=jnp.asarray(es.sigma_init, jnp.float32))
    return params


def mean_sigma(strategy_state: Any) -> jax.Array:
    """f32[]: the search distribution's step size (SNES: the mean over its per-parameter
    sigmas; CMA-ES: its global step size, before the covariance's scaling)."""
    return jnp.mean(strategy_state.std)
