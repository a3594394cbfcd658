"""Policy-side layers: a robust team message per agent, and an agent -> landmark assignment head.

Both take per-agent features f32[N, H] (one team) or f32[B, N, H] (a batch of teams), so a
MAPPO/IPPO policy can call them inside its own vmap over environments or on a batch.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.coordination.assignment import DifferentiableAssignment
from marlax.coordination.consensus import RobustConsensus
from marlax.validate import require_positive, require_positive_int


def _batched(array: jax.Array | None, rank: int) -> tuple[jax.Array | None, bool]:
    """Add a leading batch axis when `array` has rank `rank` - 1."""
    if array is None or array.ndim == rank:
        return array, False
    return array[None], True


class ConsensusMessage(nn.Module):
    """Each agent receives the robust consensus of its team's message embeddings.

    Attributes:
      features: width F of the message embedding.
      sigma: relative kernel width of the robust consensus (see RobustConsensus).
      max_iters: mean-shift iterations.
    """

    features: int = 32
    sigma: float = 0.5
    max_iters: int = 5

    def __post_init__(self) -> None:
        require_positive_int("features", self.features)
        require_positive("sigma", self.sigma)
        require_positive_int("max_iters", self.max_iters)
        super().__post_init__()

    @nn.compact
    def __call__(self, agent_features: jax.Array, agent_mask: jax.Array | None = None) -> jax.Array:
        """Team message, broadcast to every agent.

        Args:
          agent_features: f32[N, H] or f32[B, N, H].
          agent_mask: optional bool[N] or bool[B, N]; masked agents do not shape the message.

        Returns:
          f32[N, F] or f32[B, N, F]: the same robust consensus for every agent of a team.
        """
        features, squeeze = _batched(agent_features, 3)
        mask, _ = _batched(agent_mask, 2)
        embedding = nn.tanh(nn.Dense(self.features, name="message")(features))
        consensus = RobustConsensus(sigma=self.sigma, max_iters=self.max_iters)
        centroid, _ = consensus(embedding, mask)  # [B, 1, F]
        message = jnp.broadcast_to(centroid, embedding.shape)
        return message[0] if squeeze else message


class AssignmentHead(nn.Module):
    """Soft assignment of agents to landmarks (simple_spread: one agent per landmark).

    Attributes:
      embedding_dim: width of the agent/landmark embeddings.
      temperature: Sinkhorn temperature; lower gives a harder matching.
      num_iterations: Sinkhorn iterations. At the defaults the plan is usually not
        converged, so its gradient is the exact unrolled one (DifferentiableAssignment's
        "auto" mode), not the fixed-point rule.
    """

    embedding_dim: int = 32
    temperature: float = 0.1
    num_iterations: int = 20

    def __post_init__(self) -> None:
        require_positive_int("embedding_dim", self.embedding_dim)
        require_positive("temperature", self.temperature)
        require_positive_int("num_iterations", self.num_iterations)
        super().__post_init__()

    @nn.compact
    def __call__(
        self,
        agent_features: jax.Array,
        landmark_features: jax.Array,
        agent_mask: jax.Array | None = None,
    ) -> tuple[jax.Array, jax.Array]:
        """Assignment plan and per-agent log-probabilities over landmarks.

        Args:
          agent_features: f32[N, H] or f32[B, N, H].
          landmark_features: f32[L, Hl] or f32[B, L, Hl].
          agent_mask: optional bool[N] or bool[B, N].

        Returns:
          plan: f32[(B,) N, L], each active agent's row a distribution over landmarks.
          log_probs: f32[(B,) N, L] log of that row (floored at log 1e-30), for a policy
            logit bias or a landmark-selection loss.
        """
        agents, squeeze = _batched(agent_features, 3)
        landmarks, _ = _batched(landmark_features, 3)
        mask, _ = _batched(agent_mask, 2)
        assignment = DifferentiableAssignment(
            embedding_dim=self.embedding_dim,
            temperature=self.temperature,
            num_iterations=self.num_iterations,
            name="assignment",
        )
        plan, _ = assignment(agents, landmarks, mask)
        log_probs = jnp.log(jnp.maximum(plan, 1e-30))
        return (plan[0], log_probs[0]) if squeeze else (plan, log_probs)
