"""AdaptiveProjection: a learned per-agent split of a learnable resource budget over k types.

Per agent i: standardise the state over its features, z_i = (x_i - mean(x_i)) / std(x_i);
complexity p_i = softmax(Dense_k(z_i)); resources r_i = budget * p_i, so sum_k r_ik = budget
with budget = softplus(raw) > 0 learnable. The gain g_i = r_i (1 / budget + G) = 1 + r_i G
(G: k learnable efficiencies, 0 at init) is what the pipeline multiplies agent states by.
Agents are independent (no N x N term, no cross-agent statistic), so a masked agent cannot
change any other agent's allocation; its resources and gain are exactly 0.
(The reference crashes on every call: it vmaps a per-agent function twice.)
"""

from __future__ import annotations

import math

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.coordination.masks import default_mask
from marlax.validate import require_positive, require_positive_int

_STD_FLOOR = 1e-6


def standardise(agent_states: jax.Array) -> jax.Array:
    """f32[..., D] states standardised over the feature axis (constant rows map to 0)."""
    mean = jnp.mean(agent_states, axis=-1, keepdims=True)
    centred = agent_states - mean
    variance = jnp.mean(centred**2, axis=-1, keepdims=True)
    return centred / jnp.sqrt(variance + _STD_FLOOR**2)


def _inverse_softplus(value: float) -> float:
    return math.log(math.expm1(value))


class AdaptiveProjection(nn.Module):
    """Allocate a learnable per-agent resource budget over `complexity_dim` resource types.

    Attributes:
      complexity_dim: k, the number of resource types (> 0).
      initial_budget: the budget at initialisation (> 0); learnable afterwards.

    Example:
      >>> projection = AdaptiveProjection(complexity_dim=8)
      >>> params = projection.init(key, agent_states)
      >>> resources, metrics = projection.apply(params, agent_states)
    """

    complexity_dim: int = 8
    initial_budget: float = 1.0

    def __post_init__(self) -> None:
        require_positive_int("complexity_dim", self.complexity_dim)
        require_positive("initial_budget", self.initial_budget)
        super().__post_init__()

    def setup(self) -> None:
        self.complexity = nn.Dense(self.complexity_dim)
        raw = _inverse_softplus(self.initial_budget)
        self.raw_budget = self.param("raw_budget", nn.initializers.constant(raw), ())
        self.raw_gain = self.param("gain", nn.initializers.zeros_init(), (self.complexity_dim, 1))

    def __call__(
        self, agent_states: jax.Array, agent_mask: jax.Array | None = None
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Resources per agent and type.

        Args:
          agent_states: f32[B, N, D].
          agent_mask: optional bool[B, N]; masked agents get 0 resources.

        Returns:
          resources: f32[B, N, k], rows of active agents sum to the budget.
          metrics: resource_mean, resource_std (active agents), complexity_entropy (nats),
            budget: f32[].
        """
        resources, _, metrics = self.allocate(agent_states, agent_mask)
        return resources, metrics

    def allocate(
        self, agent_states: jax.Array, agent_mask: jax.Array | None = None
    ) -> tuple[jax.Array, jax.Array, dict[str, jax.Array]]:
        """(resources f32[B, N, k], gain f32[B, N, 1], metrics) for f32[B, N, D] states."""
        chex.assert_rank(agent_states, 3)
        agent_mask = default_mask(agent_states, agent_mask)
        logits = self.complexity(standardise(agent_states))
        complexity = jax.nn.softmax(logits, axis=-1)
        budget = jax.nn.softplus(self.raw_budget)
        resources = jnp.where(agent_mask[..., None], budget * complexity, 0.0)
        # gain = r (1/budget + G): exactly 1 at init, so the pipeline starts as the identity
        per_type = 1.0 / jax.lax.stop_gradient(budget) + self.raw_gain  # [k, 1]
        gain = resources @ per_type  # [B, N, 1]
        return resources, gain, _projection_metrics(resources, complexity, agent_mask, budget)


def _projection_metrics(resources, complexity, agent_mask, budget):
    """Masked statistics over active agents (and resource types)."""
    resources, complexity = jax.lax.stop_gradient((resources, complexity))
    count = jnp.maximum(jnp.sum(agent_mask), 1) * resources.shape[-1]
    mean = jnp.sum(resources) / count
    variance = jnp.sum(jnp.where(agent_mask[..., None], (resources - mean) ** 2, 0.0)) / count
    entropy = -jnp.sum(complexity * jnp.log(jnp.maximum(complexity, 1e-30)), axis=-1)
    num_agents = jnp.maximum(jnp.sum(agent_mask), 1)
    return {
        "resource_mean": mean,
        "resource_std": jnp.sqrt(variance),
        "complexity_entropy": jnp.sum(jnp.where(agent_mask, entropy, 0.0)) / num_agents,
        "budget": jax.lax.stop_gradient(budget),
    }
