"""Tiny MAML set-ups for the tests: a linear Gaussian policy on a short navigation_2d."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.algorithms.maml.meta import InnerLoop
from marlax.algorithms.maml.rollout import ActionScale, Sampler
from marlax.config import load_from_dict
from marlax.envs.registry import make
from marlax.models.heads import GaussianParams

TINY_RAW: dict[str, Any] = {
    "algorithm": "maml",
    "env": {"name": "navigation_2d", "num_envs": 6, "params": {"max_steps": 8}},
    "model": {"name": "mlp", "encoder": {"hidden_sizes": []}, "core": {"hidden_sizes": [8]}},
    "run": {"log_every": 1, "checkpoint_every": 1},
}


def tiny_config(**maml: Any) -> Any:
    """A 3-task x 2-trajectory MAML config on 8-step navigation (maml settings as given)."""
    raw = {**TINY_RAW, "maml": {"meta_batch_size": 3, "num_updates": 2, **maml}}
    return load_from_dict(raw)


class LinearGaussian(nn.Module):
    """mean = obs @ w, a learned log-std: the smallest policy MAML can adapt."""

    action_size: int = 2

    def initialize_carry(self, batch_shape: tuple[int, ...]) -> jax.Array:
        return jnp.zeros((*batch_shape, 0), jnp.float32)

    @nn.compact
    def __call__(self, carry: jax.Array, obs: jax.Array, reset: jax.Array) -> tuple:
        del reset
        weights = self.param("w", nn.initializers.normal(0.5), (obs.shape[-1], self.action_size))
        log_std = self.param("log_std", nn.initializers.constant(-0.5), (self.action_size,))
        mean = obs @ weights
        log_std = jnp.broadcast_to(log_std, mean.shape)
        return carry, (GaussianParams(mean, log_std), jnp.zeros(mean.shape[:-1]))


def linear_inner(inner_steps: int = 1, first_order: bool = False, **settings: Any) -> InnerLoop:
    """An inner loop of the linear policy on 6-step navigation with 4 trajectories."""
    env = make("navigation_2d", max_steps=6)
    sampler = Sampler(LinearGaussian(), env, 4, ActionScale.of(env, True))
    return InnerLoop(sampler, inner_steps, 0.3, first_order, **settings)


def linear_params(key: jax.Array) -> Any:
    """Parameters of `LinearGaussian` for 2-D observations."""
    obs = jnp.zeros((1, 1, 2))
    return LinearGaussian().init(key, jnp.zeros((1, 1, 0)), obs, jnp.zeros((1, 1), bool))
