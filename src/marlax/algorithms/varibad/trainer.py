"""VariBAD on a `TrainConfig`: seeds as a vmap axis, `run.log_every` updates per jitted call.

trainer = VariBADTrainer(config)                # config.algorithm == "varibad"
state = trainer.init(jax.random.key(0))         # VariBADState, leaves [S, ...]
state, metrics = trainer.update(state)          # metrics["return/episode_1"]: f32[S, U]
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import optax

from marlax.algorithms.common.seeds import init_seed_by_seed
from marlax.algorithms.ppo.update import make_optimizer
from marlax.algorithms.varibad.networks import VariBADNetworks, make_varibad_networks
from marlax.algorithms.varibad.update import VariBADState, varibad_update
from marlax.config.schema import TrainConfig
from marlax.envs.wrappers.trial import TrialEnv
from marlax.envs.wrappers.vector import VectorEnv
from marlax.validate import require_positive_int


def trial_env(config: TrainConfig) -> TrialEnv:
    """The task family of `envs.0` in trials of `varibad.episodes_per_trial` episodes."""
    return TrialEnv(config.envs[0].make_env(), config.varibad.episodes_per_trial)


class VariBADTrainer:
    """VariBAD's learner (see `marlax.algorithms.varibad.update`)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.trial_env = trial_env(config)
        task = config.envs[0]
        self.env = VectorEnv(self.trial_env, num_envs=task.num_envs, num_resets=task.num_resets)
        self.networks: VariBADNetworks = make_varibad_networks(config, self.trial_env)
        self.num_updates = config.ppo.total_env_steps // self.env_steps_per_update
        self.optimizers = (
            make_optimizer(config.ppo, config.optimizer, self.num_updates),
            optax.adam(config.varibad.vae_lr),
        )
        self._init: Callable | None = None
        self._updates: dict[int, Callable] = {}

    @property
    def trial_length(self) -> int:
        """T: steps of one trial (k x the family's max_steps), the rollout's length."""
        return self.trial_env.max_steps

    @property
    def env_steps_per_update(self) -> int:
        """B x T env steps per update (per seed), steps after an early trial end included."""
        return self.config.envs[0].num_envs * self.trial_length

    def init_one(self, key: jax.Array) -> VariBADState:
        """One seed's fresh state: `policy_key, vae_key, key = split(key, 3)`."""
        policy_key, vae_key, key = jax.random.split(key, 3)
        policy_params = self.networks.init_policy(policy_key)
        vae_params = self.networks.init_vae(vae_key)
        policy_optimizer, vae_optimizer = self.optimizers
        return VariBADState(
            policy_params=policy_params,
            vae_params=vae_params,
            policy_opt_state=policy_optimizer.init(policy_params),
            vae_opt_state=vae_optimizer.init(vae_params),
            key=key,
        )

    def update_one(self, state: VariBADState) -> tuple[VariBADState, dict]:
        """One update of one seed (not jitted; metrics f32[] each)."""
        return varibad_update(
            state,
            self.networks,
            self.env,
            self.config.ppo,
            self.config.varibad,
            self.optimizers,
        )

    def _updates_seeds(self, state: VariBADState, num_updates: int) -> tuple[VariBADState, dict]:
        """`num_updates` updates of every seed; metrics f32[S, U] each."""

        def _body(carry: VariBADState, _: None) -> tuple[VariBADState, dict]:
            """Carries every seed's state; stacks metrics f32[S] per update."""
            return jax.vmap(self.update_one)(carry)

        state, metrics = jax.lax.scan(_body, state, None, length=num_updates)
        return state, jax.tree.map(lambda metric: jnp.swapaxes(metric, 0, 1), metrics)

    def update_program(self, num_updates: int) -> Callable:
        """The jitted program for `num_updates` updates (built once per count)."""
        require_positive_int("num_updates", num_updates)
        if num_updates not in self._updates:
            self._updates[num_updates] = jax.jit(
                partial(self._updates_seeds, num_updates=num_updates), donate_argnums=0
            )
        return self._updates[num_updates]

    def init(self, key: jax.Array) -> VariBADState:
        """A fresh state for `run.num_seeds` seeds split from `key` (leading axis S)."""
        if self._init is None:
            self._init = jax.jit(self.init_one)
        return init_seed_by_seed(self._init, jax.random.split(key, self.config.run.num_seeds))

    def update(
        self, state: VariBADState, num_updates: int | None = None
    ) -> tuple[VariBADState, dict]:
        """Updates of every seed in one jitted call (the input state is donated).

        Returns:
            (state, metrics): each metric f32[S, U], U = num_updates or `run.log_every`.
        """
        count = self.config.run.log_every if num_updates is None else num_updates
        return self.update_program(count)(state)

    def abstract_state(self) -> VariBADState:
        """Shapes and dtypes of the state (for restoring checkpoints)."""
        keys = jax.random.split(jax.random.key(0), self.config.run.num_seeds)
        return jax.eval_shape(jax.vmap(self.init_one), keys)


__all__ = ["VariBADTrainer", "trial_env"]
