"""MADDPG / SAC on one task: seeds as a vmap axis, `n` updates per jitted call.

    setup = make_setup("sac", env, num_envs=16, off_policy=OffPolicyConfig(),
                       optimizer=OptimizerConfig())
    trainer = OffPolicyTrainer(setup, num_seeds=2, log_every=10)
    state = trainer.init(jax.random.key(0))              # leading seed axis S
    state, metrics = trainer.update(state, 10)           # metrics f32[S, 10] each

`build_setup(config)` reads a `TrainConfig` (`config.envs[0]`, `config.algorithm`,
`config.off_policy`, `config.optimizer`). An update call is one jitted program (a `lax.scan`
over updates of a `vmap` over seeds) that donates its input state: the replay and the envs
live inside it and are updated in place.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from marlax.algorithms.common import optimizers
from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.seed_axis import SeedAxisTrainer
from marlax.algorithms.off_policy.networks import make_networks
from marlax.algorithms.off_policy.replay import Transition, TransitionReplay
from marlax.algorithms.off_policy.rollout import reset_envs
from marlax.algorithms.off_policy.types import OffPolicySetup, OffPolicyTrainState
from marlax.algorithms.off_policy.update import off_policy_update
from marlax.config import TrainConfig
from marlax.config.actor_critic import OffPolicyConfig, steps_per_update
from marlax.config.schema import OptimizerConfig
from marlax.envs.base import Env
from marlax.envs.registry import make
from marlax.validate import require_positive_int


def make_setup(
    algorithm: str,
    env: Env,
    *,
    num_envs: int,
    off_policy: OffPolicyConfig,
    optimizer: OptimizerConfig,
    num_resets: int | None = None,
) -> OffPolicySetup:
    """The static parts of a run of `algorithm` ("maddpg" or "sac") on `env`, with `num_envs`
    copies (`num_resets`: `VectorEnv`'s reset pool, None = exact resets every step)."""
    per_update = steps_per_update(off_policy, num_envs)
    clip = off_policy.max_grad_norm
    return OffPolicySetup(
        algorithm=algorithm,
        env=env,
        num_envs=num_envs,
        total_env_steps=off_policy.total_env_steps // per_update * per_update,
        networks=make_networks(algorithm, off_policy, env),
        replay=TransitionReplay(off_policy.buffer_size, off_policy.batch_size),
        actor_optimizer=optimizers.make_optimizer(optimizer, off_policy.actor_learning_rate, clip),
        critic_optimizer=optimizers.make_optimizer(
            optimizer, off_policy.critic_learning_rate, clip
        ),
        alpha_optimizer=optimizers.make_optimizer(optimizer, off_policy.alpha_learning_rate, clip),
        off_policy=off_policy,
        num_resets=num_resets,
    )


def build_setup(config: TrainConfig) -> OffPolicySetup:
    """The set-up of a `TrainConfig` whose `algorithm` is "maddpg" or "sac" (its one task,
    `off_policy` and `optimizer` sections)."""
    task = config.envs[0]
    return make_setup(
        config.algorithm,
        make(task.name, **dict(task.params)),
        num_envs=task.num_envs,
        off_policy=config.off_policy,
        optimizer=config.optimizer,
        num_resets=task.num_resets,
    )


def _strong(leaf: jax.Array) -> jax.Array:
    """The leaf without a weak type (keys pass unchanged)."""
    if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
        return leaf
    return jax.lax.convert_element_type(leaf, leaf.dtype)


def _example_transition(setup: OffPolicySetup) -> Transition:
    """One zero transition, to size the replay."""
    networks = setup.networks
    agents = (networks.num_agents,)
    return Transition(
        obs=jnp.zeros((*agents, networks.obs_dim), jnp.float32),
        actions=jnp.zeros((*agents, networks.action_dim), jnp.float32),
        reward=jnp.zeros(agents, jnp.float32),
        next_obs=jnp.zeros((*agents, networks.obs_dim), jnp.float32),
        terminated=jnp.zeros((), bool),
        legal=jnp.ones((*agents, networks.action_dim), bool),
        next_legal=jnp.ones((*agents, networks.action_dim), bool),
    )


def init_state(key: jax.Array, setup: OffPolicySetup) -> OffPolicyTrainState:
    """A fresh learner for one seed: networks, targets, optimisers, empty replay, reset envs."""
    init_key, reset_key, key = jax.random.split(key, 3)
    params = setup.networks.init(init_key)
    log_alpha = jnp.log(jnp.float32(setup.off_policy.init_alpha))
    obs, log_state = reset_envs(reset_key, setup)
    state = OffPolicyTrainState(
        params=params,
        target_params={name: params[name] for name in setup.target_names},
        log_alpha=log_alpha,
        actor_opt_state=setup.actor_optimizer.init(params["actor"]),
        critic_opt_state=setup.critic_optimizer.init(params["critic"]),
        alpha_opt_state=setup.alpha_optimizer.init(log_alpha),
        buffer=setup.replay.init(_example_transition(setup)),
        obs=obs,
        log_state=log_state,
        key=key,
        update=jnp.zeros((), jnp.int32),
    )
    # a weak-typed leaf would change type after one update and force a second compile
    return jax.tree.map(_strong, state)


class OffPolicyTrainer(SeedAxisTrainer):
    """MADDPG or SAC for `num_seeds` seeds at once (see the module docstring)."""

    def __init__(self, setup: OffPolicySetup, *, num_seeds: int = 1, log_every: int = 1) -> None:
        self.setup = setup
        self.num_seeds = require_positive_int("num_seeds", num_seeds)
        self.log_every = require_positive_int("log_every", log_every)
        self.num_updates = setup.num_updates
        SeedAxisTrainer.__init__(self)

    @classmethod
    def from_config(cls, config: TrainConfig) -> OffPolicyTrainer:
        """The trainer of a `TrainConfig` (`run.num_seeds`, `run.log_every`)."""
        return cls(
            build_setup(config), num_seeds=config.run.num_seeds, log_every=config.run.log_every
        )

    @property
    def env_steps_per_update(self) -> int:
        """T * B: environment steps one update collects (per seed)."""
        return self.setup.env_steps_per_update

    def init_one(self, key: jax.Array) -> OffPolicyTrainState:
        """One seed's fresh state (traced)."""
        return init_state(key, setup=self.setup)

    def update_one(self, state: OffPolicyTrainState) -> tuple[OffPolicyTrainState, dict]:
        """One update of one seed (traced)."""
        return off_policy_update(state, setup=self.setup)

    def params_finite(self, state: OffPolicyTrainState) -> bool:
        """Every online parameter (and log alpha) of every seed is finite."""
        return all_finite((state.params, state.log_alpha))


__all__ = ["OffPolicyTrainer", "build_setup", "init_state", "make_setup"]
