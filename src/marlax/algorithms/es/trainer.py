"""`ESTrainer`: evolution strategies on the policy's parameters, seeds as a vmap axis.

    trainer = ESTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))    # leading seed axis S
    state, metrics = trainer.update(state, 10)               # 10 generations; f32[S, 10] each

One update is one generation: the strategy samples P parameter vectors, each plays the same
`num_envs` whole episodes (`episodes.population_returns`), the strategy is told -return, and
the distribution's mean is played on fresh episodes for the `return` metric. An update call
is one jitted program (a `lax.scan` over generations of a `vmap` over seeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.seed_axis import ConfigSeedAxisTrainer
from marlax.algorithms.es.episodes import Player, mean_return, population_returns
from marlax.algorithms.es.generation import evolve, evosax_numpy
from marlax.algorithms.es.solution import PolicySolution
from marlax.algorithms.es.strategies import make_strategy, mean_sigma, strategy_params
from marlax.algorithms.ppo.networks import Networks, make_networks
from marlax.algorithms.ppo.trainer import build_layout
from marlax.config import TrainConfig
from marlax.config.schema import PPOConfig


@struct.dataclass
class ESTrainState:
    """One seed's search (a pytree; under the trainer every leaf leads with S)."""

    strategy_state: Any  # the evosax state: mean f32[D], step sizes, best_solution f32[D], ...
    key: jax.Array
    generation: jax.Array  # i32[] generations done


@dataclass(frozen=True)
class ESSetup:
    """The static parts of an ES run: who plays, and the strategy with its parameters."""

    player: Player
    networks: Networks
    strategy: Any
    params: Any
    generations: int

    @property
    def env_steps_per_generation(self) -> int:
        """(P + 1) x B x max_steps: the members' episodes and the mean's."""
        return (self.strategy.population_size + 1) * self.player.steps_per_evaluation


def _strong(leaf: jax.Array) -> jax.Array:
    """The leaf without a weak type (keys pass unchanged): evosax starts counters as Python
    scalars, and a weak-typed leaf would change type after one update and recompile."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return leaf
    return jax.lax.convert_element_type(leaf, leaf.dtype)


def build_setup(config: TrainConfig) -> ESSetup:
    """The actor (PPO's, critic left out), its flat solution and the strategy of `config.es`."""
    layout = build_layout(config)
    networks = make_networks(config.model, layout, PPOConfig(critic="shared"))
    example = jax.eval_shape(lambda key: networks.init(key, layout)["actor"], jax.random.key(0))
    solution = PolicySolution.of(example)
    player = Player(networks.actor, layout, solution, config.envs[0].num_envs)
    strategy = make_strategy(config.es, jnp.zeros((solution.dimensions,), jnp.float32))
    per_generation = (config.es.population_size + 1) * player.steps_per_evaluation
    return ESSetup(
        player=player,
        networks=networks,
        strategy=strategy,
        params=strategy_params(strategy, config.es),
        generations=config.es.total_env_steps // per_generation,
    )


def es_generation(state: ESTrainState, setup: ESSetup) -> tuple[ESTrainState, dict]:
    """One generation of one seed; metrics f32[] each."""
    player = setup.player
    key, generation_key, mean_key = jax.random.split(state.key, 3)

    def _evaluate(evaluate_key: jax.Array, population: jax.Array) -> jax.Array:
        return population_returns(evaluate_key, population, player)

    strategy_state, _, returns, _ = evolve(
        setup.strategy, setup.params, state.strategy_state, generation_key, _evaluate
    )
    metrics = {
        "return": mean_return(mean_key, strategy_state.mean, player),
        "return/best_member": returns.max(),
        "return/population": returns.mean(),
        "return/best_seen": -strategy_state.best_fitness,
        "sigma": mean_sigma(strategy_state),
    }
    next_state = ESTrainState(strategy_state, key, state.generation + 1)
    return next_state, metrics


class ESTrainer(ConfigSeedAxisTrainer):
    """Evolution strategies on a `TrainConfig` (see the module docstring)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.setup = build_setup(config)
        self.num_updates = self.setup.generations
        ConfigSeedAxisTrainer.__init__(self)

    @property
    def env_steps_per_update(self) -> int:
        """Env steps one generation plays (per seed)."""
        return self.setup.env_steps_per_generation

    def init_one(self, key: jax.Array) -> ESTrainState:
        """The strategy centred on a fresh network initialisation."""
        init_key, strategy_key, key = jax.random.split(key, 3)
        setup = self.setup
        actor_params = setup.networks.init(init_key, setup.player.layout)["actor"]
        mean = setup.player.solution.flatten(actor_params)
        with evosax_numpy():
            strategy_state = setup.strategy.init(strategy_key, mean, setup.params)
        state = ESTrainState(strategy_state, key, jnp.zeros((), jnp.int32))
        return jax.tree.map(_strong, state)

    def update_one(self, state: ESTrainState) -> tuple[ESTrainState, dict]:
        """One generation of one seed (traced)."""
        return es_generation(state, setup=self.setup)

    def params_finite(self, state: ESTrainState) -> bool:
        """Every seed's search mean is finite."""
        return all_finite(state.strategy_state.mean)

    def deployed(self, state: ESTrainState) -> jax.Array:
        """f32[S, D]: the parameters `es.deploy` names ("mean", or "best" seen so far)."""
        if self.config.es.deploy == "best":
            return state.strategy_state.best_solution
        return state.strategy_state.mean


__all__ = ["ESSetup", "ESTrainState", "ESTrainer", "build_setup", "es_generation"]
