"""TensorConsensusPipeline: projection -> scaled states -> [assignment] -> consensus -> output.

    resources, gain = AdaptiveProjection(agent_states)          # f32[B, N, k], f32[B, N, 1]
    scaled = agent_states * gain
    plan = DifferentiableAssignment(scaled, task_states)         # f32[B, N, M], if tasks given
    enriched = scaled + Dense_D(plan @ task_states)              # each agent + its task mixture
    consensus = Dense_D(RobustConsensus(enriched))               # f32[B, 1, D]

Every stage is linear in N at fixed M (assignment is N x M, never N x N), masked agents have
no influence anywhere, and gradients flow end to end.
"""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.coordination.assignment import DifferentiableAssignment
from marlax.coordination.consensus import RobustConsensus
from marlax.coordination.masks import default_mask
from marlax.coordination.projection import AdaptiveProjection
from marlax.validate import require_positive_int


class TensorConsensusPipeline(nn.Module):
    """Chain of the three coordination operators; one `[B, 1, D]` consensus per batch element.

    Attributes:
      complexity_dim: resource types of the projection.
      embedding_dim: agent/task embedding width of the assignment.
      consensus_sigma: relative kernel width of the robust consensus (see RobustConsensus).
      temperature: Sinkhorn temperature (utility units).
      num_iterations: Sinkhorn iterations.
      consensus_iters: mean-shift iterations.
      consensus_method: "welsch", "geometric_median" or "mean".
      differentiation: Sinkhorn gradients, "auto", "implicit" or "unroll" (see
        DifferentiableAssignment).
      task_dim: feature width of task states; None means the agent state width D.

    Example:
      >>> pipeline = TensorConsensusPipeline(complexity_dim=8, embedding_dim=64)
      >>> params = pipeline.init(key, agent_states)                 # f32[B, N, D]
      >>> consensus_output, metrics = pipeline.apply(params, agent_states)
      >>> consensus_output, metrics = pipeline.apply(params, agent_states, task_states)
    """

    complexity_dim: int = 8
    embedding_dim: int = 64
    consensus_sigma: float = 0.5
    temperature: float = 1.0
    num_iterations: int = 10
    consensus_iters: int = 10
    consensus_method: str = "welsch"
    differentiation: str = "auto"
    task_dim: int | None = None

    def __post_init__(self) -> None:
        if self.task_dim is not None:
            require_positive_int("task_dim", self.task_dim)
        super().__post_init__()

    def setup(self) -> None:
        self.projection = AdaptiveProjection(complexity_dim=self.complexity_dim)
        self.assignment = DifferentiableAssignment(
            embedding_dim=self.embedding_dim,
            temperature=self.temperature,
            num_iterations=self.num_iterations,
            differentiation=self.differentiation,
        )
        self.consensus = RobustConsensus(
            sigma=self.consensus_sigma, max_iters=self.consensus_iters, method=self.consensus_method
        )

    @nn.compact
    def __call__(
        self,
        agent_states: jax.Array,
        task_states: jax.Array | None = None,
        agent_mask: jax.Array | None = None,
        task_mask: jax.Array | None = None,
    ) -> tuple[jax.Array, dict[str, dict[str, jax.Array]]]:
        """Run the pipeline.

        Args:
          agent_states: f32[B, N, D].
          task_states: optional f32[B, M, Dt] (Dt = task_dim or D).
          agent_mask: optional bool[B, N]; masked agents change nothing.
          task_mask: optional bool[B, M].

        Returns:
          consensus_output: f32[B, 1, D].
          metrics: {"projection": {...}, "assignment": {...} (if tasks), "consensus": {...}}.
        """
        chex.assert_rank(agent_states, 3)
        batch, _, dim = agent_states.shape
        agent_mask = default_mask(agent_states, agent_mask)
        _, gain, projection_metrics = self.projection.allocate(agent_states, agent_mask)
        scaled = agent_states * gain
        metrics = {"projection": projection_metrics}
        enrich = nn.Dense(dim, name="task_mixture")
        if task_states is None and self.is_initializing():
            # create the assignment parameters at init, so tasks may be passed later
            placeholder = jnp.zeros((batch, 1, self.task_dim or dim))
            enrich(self.assignment.utilities(scaled, placeholder)[..., :1] * placeholder)
        enriched = scaled
        if task_states is not None:
            chex.assert_rank(task_states, 3)
            plan, metrics["assignment"] = self.assignment(
                scaled, task_states, agent_mask, task_mask
            )
            task_mixture = jnp.einsum("bnm,bmd->bnd", plan, task_states)
            enriched = scaled + enrich(task_mixture)
        centroid, metrics["consensus"] = self.consensus(enriched, agent_mask)
        return nn.Dense(dim, name="output")(centroid), metrics
