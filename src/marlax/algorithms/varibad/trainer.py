"""VariBAD on a `TrainConfig`: seeds as a vmap axis, `run.log_every` updates per jitted call.

trainer = VariBADTrainer(config)                # config.algorithm == "varibad"
state = trainer.init(jax.random.key(0))         # VariBADState, leaves [S, ...]
state, metrics = trainer.update(state)          # metrics["return/episode_1"]: f32[S, U]
"""

from __future__ import annotations

import jax
import optax

from marlax.algorithms.common.seed_axis import ConfigSeedAxisTrainer
from marlax.algorithms.ppo.update import make_optimizer
from marlax.algorithms.varibad.networks import VariBADNetworks, make_varibad_networks
from marlax.algorithms.varibad.update import VariBADState, varibad_update
from marlax.config.schema import TrainConfig
from marlax.envs.wrappers.trial import TrialEnv
from marlax.envs.wrappers.vector import VectorEnv


def trial_env(config: TrainConfig) -> TrialEnv:
    """The task family of `envs.0` in trials of `varibad.episodes_per_trial` episodes."""
    return TrialEnv(config.envs[0].make_env(), config.varibad.episodes_per_trial)


class VariBADTrainer(ConfigSeedAxisTrainer):
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
        ConfigSeedAxisTrainer.__init__(self)

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


__all__ = ["VariBADTrainer", "trial_env"]
