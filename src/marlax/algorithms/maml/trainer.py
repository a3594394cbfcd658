"""`MAMLTrainer`: meta-training on a task family, seeds as a vmap axis.

    trainer = MAMLTrainer(config)
    state = trainer.init(jax.random.key(config.run.seed))     # leading seed axis S
    state, metrics = trainer.update(state, 10)                # 10 outer updates; f32[S, 10] each

One update (`meta_update`) draws `meta_batch_size` tasks, plays each task's adaptation
(`meta.collect`, vmapped over tasks), takes the gradient of the mean outer loss through the
inner steps, clips it and takes an Adam step. An update call is one jitted program (a
`lax.scan` over updates of a `vmap` over seeds). The policy is PPO's actor network (its value
head is never read, so it gets no gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from marlax.algorithms.common.checkpointed import all_finite
from marlax.algorithms.common.optimizers import make_optimizer
from marlax.algorithms.common.seed_axis import ConfigSeedAxisTrainer
from marlax.algorithms.maml.meta import InnerLoop, collect, meta_loss, stage_returns, surrogate_loss
from marlax.algorithms.maml.rollout import ActionScale, Sampler
from marlax.algorithms.ppo.networks import Networks, make_networks
from marlax.algorithms.ppo.tasks import TaskLayout
from marlax.algorithms.ppo.trainer import build_layout
from marlax.config import TrainConfig
from marlax.config.maml import trajectories_per_task
from marlax.config.schema import PPOConfig


@struct.dataclass
class MAMLTrainState:
    """One seed's meta-training state (under the trainer every leaf leads with S)."""

    params: Any  # the actor's parameters theta
    opt_state: Any
    key: jax.Array
    update: jax.Array  # i32[] outer updates done


@dataclass(frozen=True)
class MAMLSetup:
    """The static parts of a MAML run."""

    networks: Networks
    layout: TaskLayout
    inner: InnerLoop
    meta_batch_size: int
    optimizer: optax.GradientTransformation

    @property
    def env(self) -> Any:
        return self.inner.sampler.env

    @property
    def env_steps_per_update(self) -> int:
        """num_envs x max_steps x (inner_steps + 1): every episode is played to max_steps."""
        sampler = self.inner.sampler
        episodes = self.meta_batch_size * sampler.trajectories
        return episodes * sampler.max_steps * (self.inner.inner_steps + 1)


def build_setup(config: TrainConfig) -> MAMLSetup:
    """PPO's actor for the task family, the inner loop and the outer optimiser of `config`."""
    maml = config.maml
    layout = build_layout(config)
    networks = make_networks(config.model, layout, PPOConfig(critic="shared"))
    env = layout.tasks[0].env
    sampler = Sampler(
        networks.actor,
        env,
        trajectories_per_task(config),
        ActionScale.of(env, maml.normalize_actions),
    )
    inner = InnerLoop(
        sampler=sampler,
        inner_steps=maml.inner_steps,
        inner_lr=maml.inner_lr,
        first_order=maml.first_order,
        gamma=maml.gamma,
        baseline=maml.baseline,
        normalize_advantages=maml.normalize_advantages,
    )
    optimizer = make_optimizer(config.optimizer, maml.learning_rate, maml.max_grad_norm)
    return MAMLSetup(networks, layout, inner, maml.meta_batch_size, optimizer)


def meta_gradient(
    key: jax.Array, theta: Any, setup: MAMLSetup
) -> tuple[jax.Array, Any, dict[str, jax.Array]]:
    """(mean outer loss f32[], its gradient in theta, metrics) on a fresh meta-batch."""
    task_key, collect_key = jax.random.split(key)
    inner = setup.inner
    tasks = jax.vmap(setup.env.sample_task)(jax.random.split(task_key, setup.meta_batch_size))
    collect_keys = jax.random.split(collect_key, setup.meta_batch_size)
    batches = jax.vmap(partial(collect, theta=theta, inner=inner))(collect_keys, task=tasks)

    def _mean_loss(params: Any) -> jax.Array:
        losses = jax.vmap(partial(meta_loss, params, inner=inner))(batches)
        return losses.mean()

    loss, grads = jax.value_and_grad(_mean_loss)(theta)
    returns = jax.vmap(stage_returns)(batches).mean(axis=0)  # f32[S + 1]
    metrics = {"return": returns[-1], "return/pre_adaptation": returns[0], "loss/outer": loss}
    for step in range(1, inner.inner_steps):
        metrics[f"return/after_step_{step}"] = returns[step]
    if inner.inner_steps > 0:
        inner_losses = jax.vmap(partial(surrogate_loss, theta, sampler=inner.sampler))(
            batches.inner[0]
        )
        metrics["loss/inner"] = inner_losses.mean()
    metrics["grad_norm"] = optax.tree.norm(grads)
    return loss, grads, metrics


def meta_update(state: MAMLTrainState, setup: MAMLSetup) -> tuple[MAMLTrainState, dict]:
    """One outer update of one seed; metrics f32[] each."""
    key, gradient_key = jax.random.split(state.key)
    _, grads, metrics = meta_gradient(gradient_key, state.params, setup)
    updates, opt_state = setup.optimizer.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)
    return MAMLTrainState(params, opt_state, key, state.update + 1), metrics


class MAMLTrainer(ConfigSeedAxisTrainer):
    """MAML on a `TrainConfig` (see the module docstring)."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.setup = build_setup(config)
        self.num_updates = config.maml.num_updates
        ConfigSeedAxisTrainer.__init__(self)

    @property
    def env_steps_per_update(self) -> int:
        """Env steps one outer update plays (per seed)."""
        return self.setup.env_steps_per_update

    def init_one(self, key: jax.Array) -> MAMLTrainState:
        init_key, key = jax.random.split(key)
        params = self.setup.networks.init(init_key, self.setup.layout)["actor"]
        opt_state = self.setup.optimizer.init(params)
        return MAMLTrainState(params, opt_state, key, jnp.zeros((), jnp.int32))

    def update_one(self, state: MAMLTrainState) -> tuple[MAMLTrainState, dict]:
        """One outer update of one seed (traced)."""
        return meta_update(state, setup=self.setup)

    def params_finite(self, state: MAMLTrainState) -> bool:
        """Every seed's parameters are finite."""
        return all_finite(state.params)


__all__ = ["MAMLSetup", "MAMLTrainState", "MAMLTrainer", "build_setup", "meta_update"]
