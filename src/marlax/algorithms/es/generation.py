"""One generation of any evosax strategy: ask, evaluate, tell (returns negated).

    state, population, returns, metrics = evolve(strategy, params, state, key, evaluate)

marlax maximises returns and evosax minimises fitness, so the strategy is told
fitness = -returns. The key is split once per generation into (ask, evaluate, tell) keys in
that order; running evosax directly with those keys gives the same states bitwise (tested on
a BBOB function).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax

Evaluate = Callable[[jax.Array, jax.Array], jax.Array]
"""`evaluate(key, population f32[P, D]) -> returns f32[P]` (higher is better)."""


def generation_keys(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(ask_key, evaluate_key, tell_key) of one generation."""
    ask_key, evaluate_key, tell_key = jax.random.split(key, 3)
    return ask_key, evaluate_key, tell_key


def fitness_of(returns: jax.Array) -> jax.Array:
    """evosax fitness f32[P] (lower is better) of returns f32[P] (higher is better)."""
    return -returns


def evolve(
    strategy: Any, params: Any, state: Any, key: jax.Array, evaluate: Evaluate
) -> tuple[Any, jax.Array, jax.Array, dict[str, jax.Array]]:
    """Sample a population, evaluate it and update the strategy.

    Args:
        strategy: an evosax strategy on flat solutions f32[D].
        params: its parameters; state: its state.
        key: this generation's key (split by `generation_keys`).
        evaluate: the returns of a population (see `Evaluate`).

    Returns:
        (new state, population f32[P, D], returns f32[P], evosax's metrics of the generation).
    """
    ask_key, evaluate_key, tell_key = generation_keys(key)
    with evosax_numpy():
        population, state = strategy.ask(ask_key, state, params)
    returns = evaluate(evaluate_key, population)
    with evosax_numpy():
        state, metrics = strategy.tell(tell_key, population, fitness_of(returns), state, params)
    return state, population, returns, metrics


def evosax_numpy() -> Any:
    """The numpy settings evosax is written for: it broadcasts f32[D] against f32[P, D]
    implicitly, which marlax's tests (`jax_numpy_rank_promotion="raise"`) would refuse."""
    return jax.numpy_rank_promotion("allow")
