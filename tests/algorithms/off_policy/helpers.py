"""Tiny MADDPG / SAC set-ups that compile and run in seconds, and a stand-in for the
`TrainConfig` fields the off-policy learners read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp

from marlax.algorithms.off_policy.replay import Transition
from marlax.algorithms.off_policy.trainer import make_setup
from marlax.algorithms.off_policy.types import OffPolicySetup, OffPolicyTrainState
from marlax.config.actor_critic import OffPolicyConfig
from marlax.config.schema import OptimizerConfig, RunConfig, TaskConfig
from marlax.envs.registry import make

TINY: dict[str, Any] = {
    "total_env_steps": 4 * 4 * 8,
    "num_steps": 4,
    "buffer_size": 64,
    "batch_size": 8,
    "gradient_steps": 2,
    "learning_starts": 32,
    "actor_hidden_sizes": (8,),
    "critic_hidden_sizes": (8,),
}
"""8 updates of 4 envs x 4 steps; learning starts at update 2."""

TINY_ENV = {"continuous_actions": True, "max_steps": 6}
DISCRETE_ENV = {"continuous_actions": False, "max_steps": 6}


def tiny_off_policy(**changes: Any) -> OffPolicyConfig:
    return OffPolicyConfig(**{**TINY, **changes})


def tiny_setup(
    algorithm: str, num_envs: int = 4, *, discrete: bool = False, **changes: Any
) -> OffPolicySetup:
    """`algorithm` on simple_spread with 6-step episodes: Box(0, 1, (5,)) actions, or with
    `discrete` its 5 discrete moves (MADDPG with Gumbel-softmax)."""
    return make_setup(
        algorithm,
        make("simple_spread", **(DISCRETE_ENV if discrete else TINY_ENV)),
        num_envs=num_envs,
        off_policy=tiny_off_policy(**changes),
        optimizer=OptimizerConfig(),
    )


@dataclass(frozen=True)
class RunSettings:
    """The fields of a `TrainConfig` an off-policy run reads (until the schema has them)."""

    algorithm: str
    off_policy: OffPolicyConfig
    run: RunConfig
    envs: tuple[TaskConfig, ...] = (TaskConfig(name="simple_spread", num_envs=4, params=TINY_ENV),)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)


def random_batch(key: jax.Array, setup: OffPolicySetup, size: int = 5) -> Transition:
    """K = `size` transitions with random obs, actions in [-1, 1] (discrete: one-hot) and
    rewards, every action legal; the first terminated."""
    networks = setup.networks
    obs_key, action_key, reward_key, next_key = jax.random.split(key, 4)
    agents = (size, networks.num_agents)
    if networks.discrete:
        index = jax.random.randint(action_key, agents, 0, networks.action_dim)
        actions = jax.nn.one_hot(index, networks.action_dim)
    else:
        actions = jax.random.uniform(action_key, (*agents, networks.action_dim), minval=-1.0)
    return Transition(
        obs=jax.random.normal(obs_key, (*agents, networks.obs_dim)),
        actions=actions,
        reward=jax.random.normal(reward_key, agents),
        next_obs=jax.random.normal(next_key, (*agents, networks.obs_dim)),
        terminated=jnp.arange(size) == 0,
        legal=jnp.ones((*agents, networks.action_dim), bool),
        next_legal=jnp.ones((*agents, networks.action_dim), bool),
    )


def learner_state(key: jax.Array, setup: OffPolicySetup) -> OffPolicyTrainState:
    """A state with fresh networks, targets and optimisers but no replay or envs (enough for
    the gradient steps of `learn.py`, and far cheaper to build than `init_state`)."""
    params = setup.networks.init(key)
    log_alpha = jnp.log(jnp.float32(setup.off_policy.init_alpha))
    return OffPolicyTrainState(
        params=params,
        target_params={name: params[name] for name in setup.target_names},
        log_alpha=log_alpha,
        actor_opt_state=setup.actor_optimizer.init(params["actor"]),
        critic_opt_state=setup.critic_optimizer.init(params["critic"]),
        alpha_opt_state=setup.alpha_optimizer.init(log_alpha),
        buffer=None,
        obs=None,
        log_state=None,
        key=key,
        update=jnp.zeros((), jnp.int32),
    )
