"""The ES driver against evosax itself (same keys: same states, bitwise) and the sign of
fitness (evosax minimises, marlax maximises returns)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from evosax.problems import BBOBProblem

from marlax.algorithms.es.generation import evolve, evosax_numpy, fitness_of
from marlax.algorithms.es.strategies import make_strategy, strategy_params
from marlax.config.evolution_strategies import ESConfig

DIMENSIONS = 6
POPULATION = 8
GENERATIONS = 25


def _strategy(name: str):
    es = ESConfig(strategy=name, population_size=POPULATION, sigma_init=0.5, learning_rate=0.05)
    strategy = make_strategy(es, jnp.zeros((DIMENSIONS,), jnp.float32))
    return strategy, strategy_params(strategy, es)


def _leaves_equal(left, right) -> None:
    for a, b in zip(jax.tree.leaves(left), jax.tree.leaves(right), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("name", ["cma_es", "open_es", "snes"])
def test_driver_equals_evosax_run_directly_on_bbob_rosenbrock(name):
    """Equal evaluations (25 generations x 8) with the same keys give the same states."""
    problem = BBOBProblem("rosenbrock", num_dims=DIMENSIONS, seed=3)
    problem_state = problem.init(jax.random.key(1))
    strategy, params = _strategy(name)
    x0 = jnp.full((DIMENSIONS,), 1.0, jnp.float32)
    key = jax.random.key(7)
    generation_keys = jax.random.split(jax.random.key(8), GENERATIONS)

    def _direct(state, generation_key):
        """evosax by hand: one split into ask, evaluate and tell keys; it minimises f."""
        ask_key, evaluate_key, tell_key = jax.random.split(generation_key, 3)
        population, state = strategy.ask(ask_key, state, params)
        fitness, _, _ = problem.eval(evaluate_key, population, problem_state)
        state, _ = strategy.tell(tell_key, population, fitness, state, params)
        return state, population

    def _returns(evaluate_key, population):
        return -problem.eval(evaluate_key, population, problem_state)[0]

    def _driven(state, generation_key):
        state, population, _, _ = evolve(strategy, params, state, generation_key, _returns)
        return state, population

    with evosax_numpy():
        start = strategy.init(key, x0, params)
        direct, direct_populations = jax.jit(lambda s: jax.lax.scan(_direct, s, generation_keys))(
            start
        )
        driven, driven_populations = jax.jit(lambda s: jax.lax.scan(_driven, s, generation_keys))(
            start
        )
        start_fitness = problem.eval(key, x0[None], problem_state)[0][0]
    np.testing.assert_array_equal(np.asarray(driven_populations), np.asarray(direct_populations))
    _leaves_equal(driven, direct)
    # and the search made progress, so the comparison is not between two idle states
    assert float(direct.best_fitness) < float(start_fitness)


def test_a_member_with_higher_return_gets_lower_fitness():
    returns = jnp.array([1.0, -3.0, 2.5], jnp.float32)
    fitness = fitness_of(returns)
    assert int(jnp.argmin(fitness)) == int(jnp.argmax(returns)) == 2
    np.testing.assert_array_equal(np.asarray(fitness), [-1.0, 3.0, -2.5])


@pytest.mark.parametrize("name", ["cma_es", "open_es", "snes"])
def test_evosax_records_the_highest_return_member_as_its_best(name):
    """Through `evolve`, the member with the largest return becomes evosax's best solution."""
    strategy, params = _strategy(name)
    with evosax_numpy():
        state = strategy.init(jax.random.key(0), jnp.zeros((DIMENSIONS,), jnp.float32), params)

    def _returns(evaluate_key, population):
        del evaluate_key
        return population[:, 0]  # the return is the first coordinate: larger is better

    state, population, returns, _ = evolve(strategy, params, state, jax.random.key(1), _returns)
    best = int(jnp.argmax(returns))
    np.testing.assert_array_equal(np.asarray(state.best_solution), np.asarray(population[best]))
    assert float(state.best_fitness) == -float(returns[best])
