"""DifferentiableAssignment: learned agent-task utilities and a log-domain Sinkhorn plan.

    U = (embed_a(agents) W embed_t(tasks)^T) / sqrt(E)  [+ bias_a(agent) + bias_t(task)]

The optional bias is computed from each agent's and each task's embedding (a Dense to one
number), so no parameter has shape [N, M]: one set of parameters serves every team size.
Memory: O(B (N + M) E) for the embeddings plus one [B, N, M] plan; nothing is N x N.

`DifferentiableAssignment.local` is the same utility on a sparse support: each agent scores
only its k candidate tasks (the M tasks are embedded once, [B, M, E], and gathered,
[B, N, k, E]) and `local_sinkhorn` returns a [B, N, k] plan: O(B (N k + M) E), same
parameters as the dense call.
"""

from __future__ import annotations

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.coordination.masks import default_mask
from marlax.coordination.sinkhorn import DIFFERENTIATION_MODES, log_sinkhorn, uniform_marginals
from marlax.coordination.sinkhorn_local import local_sinkhorn
from marlax.validate import (
    require_choice,
    require_non_negative,
    require_number,
    require_positive,
    require_positive_int,
)


class DifferentiableAssignment(nn.Module):
    """Soft assignment of N agents to M tasks by entropic optimal transport.

    Attributes:
      embedding_dim: E, width of the agent and task embeddings.
      temperature: entropic epsilon in utility units (> 0); smaller is closer to a matching.
      num_iterations: maximum Sinkhorn iterations.
      threshold: stop once the relative marginal error is <= threshold (0: stop only at an
        exact float32 fixed point).
      differentiation: "auto" (default: the fast fixed-point VJP where the plan converged to
        a marginal error <= 1e-3, the exact unrolled gradient elsewhere), "implicit"
        (always the fixed-point VJP: only valid for converged plans) or "unroll".
      use_bias: add per-agent and per-task utility offsets computed from the embeddings.
      temperature_start: optional annealing start (eps_k = max(temperature, start * decay^k)).
      temperature_decay: annealing factor per iteration in (0, 1).

    Example:
      >>> module = DifferentiableAssignment(embedding_dim=64, temperature=1.0, num_iterations=10)
      >>> params = module.init(key, agent_states, task_states)
      >>> assignment, metrics = module.apply(params, agent_states, task_states)
    """

    embedding_dim: int = 64
    temperature: float = 1.0
    num_iterations: int = 10
    threshold: float = 0.0
    differentiation: str = "auto"
    use_bias: bool = True
    temperature_start: float | None = None
    temperature_decay: float = 0.9

    def __post_init__(self) -> None:
        require_positive_int("embedding_dim", self.embedding_dim)
        require_positive("temperature", self.temperature)
        require_positive_int("num_iterations", self.num_iterations)
        require_non_negative("threshold", self.threshold)
        require_choice("differentiation", self.differentiation, DIFFERENTIATION_MODES)
        if self.temperature_start is not None:
            require_positive("temperature_start", self.temperature_start)
        require_number(
            "temperature_decay", self.temperature_decay, 0.0, 1.0, open_low=True, open_high=True
        )
        super().__post_init__()

    def setup(self) -> None:
        self.agent_embed = nn.Dense(self.embedding_dim)
        self.task_embed = nn.Dense(self.embedding_dim)
        self.utility_weights = self.param(
            "utility_weights", nn.initializers.lecun_normal(), (self.embedding_dim,) * 2
        )
        if self.use_bias:
            self.agent_bias = nn.Dense(1)
            self.task_bias = nn.Dense(1)

    def __call__(
        self,
        agent_states: jax.Array,
        task_states: jax.Array,
        agent_mask: jax.Array | None = None,
        task_mask: jax.Array | None = None,
        task_capacity: jax.Array | None = None,
        utility_bias: jax.Array | None = None,
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Assign agents to tasks.

        Args:
          agent_states: f32[B, N, D] agent features.
          task_states: f32[B, M, Dt] task features.
          agent_mask: optional bool[B, N]; masked agents get an all-zero row and no influence.
          task_mask: optional bool[B, M]; masked tasks get an all-zero column.
          task_capacity: optional f32[B, M] relative capacities (default: equal, N/M each).
          utility_bias: optional f32[B, N, M] added to the learned utilities (a prior, e.g.
            minus a weighted squared distance, so the plan starts near the nearest-task one).

        Returns:
          assignment: f32[B, N, M], each active agent's row a distribution over tasks.
          metrics: dict of f32[] (utility_mean/std, entropy, sparsity, marginal_error,
            iterations).
        """
        chex.assert_rank([agent_states, task_states], 3)
        agent_mask = default_mask(agent_states, agent_mask)
        task_mask = default_mask(task_states, task_mask)
        utility = self.utilities(agent_states, task_states)
        if utility_bias is not None:
            utility = utility + utility_bias
        capacity = task_capacity if task_capacity is not None else jnp.ones(task_mask.shape)
        solve = jax.vmap(self._solve, in_axes=(0, 0, 0, 0))
        plan, iterations, marginal_error = solve(utility, agent_mask, task_mask, capacity)
        metrics = assignment_metrics(utility, plan, agent_mask, task_mask)
        metrics["marginal_error"] = jnp.mean(marginal_error)
        metrics["iterations"] = jnp.max(iterations)
        return plan, metrics

    def utilities(self, agent_states: jax.Array, task_states: jax.Array) -> jax.Array:
        """f32[B, N, M] utilities from f32[B, N, D] agents and f32[B, M, Dt] tasks."""
        agent_embedding = self.agent_embed(agent_states)
        task_embedding = self.task_embed(task_states)
        bilinear = self.utility_weights
        scale = 1.0 / jnp.sqrt(jnp.float32(self.embedding_dim))
        utility = jnp.einsum("bne,ef,bmf->bnm", agent_embedding, bilinear, task_embedding) * scale
        if self.use_bias:
            agent_bias = self.agent_bias(agent_embedding)  # [B, N, 1]
            task_bias = self.task_bias(task_embedding)[..., 0]  # [B, M]
            utility = utility + agent_bias + task_bias[:, None, :]
        return utility

    def local(
        self,
        agent_states: jax.Array,
        task_states: jax.Array,
        candidates: jax.Array,
        agent_mask: jax.Array | None = None,
        task_mask: jax.Array | None = None,
        utility_bias: jax.Array | None = None,
    ) -> tuple[jax.Array, dict[str, jax.Array]]:
        """Assign each agent among its k candidate tasks (`local_sinkhorn`): O(N k E + M E).

        Uses `temperature` and `num_iterations`; always differentiated by unrolling (no
        threshold, no annealing). Capacities are equal (N_active / M_valid); a column may
        stay under its capacity (the constraint is `column sum <= capacity`).

        Args:
          agent_states: f32[B, N, D]; task_states: f32[B, M, Dt].
          candidates: i32[B, N, k] task indices in [0, M), -1 in empty slots.
          agent_mask: optional bool[B, N]; task_mask: optional bool[B, M].
          utility_bias: optional f32[B, N, k] added to the candidates' utilities.

        Returns:
          plan: f32[B, N, k], rows of active agents with a candidate sum to 1; 0 in empty
            slots and for masked agents.
          metrics: dict of f32[] (column_excess: mass over capacity per active agent).
        """
        chex.assert_rank([agent_states, task_states, candidates], 3)
        chex.assert_equal_shape_prefix([agent_states, candidates], 2)
        agent_mask = default_mask(agent_states, agent_mask)
        task_mask = default_mask(task_states, task_mask)
        utility = self.candidate_utilities(agent_states, task_states, candidates)
        if utility_bias is not None:
            utility = utility + utility_bias
        result = local_sinkhorn(
            utility,
            candidates,
            agent_mask,
            task_mask,
            temperature=self.temperature,
            num_iterations=self.num_iterations,
        )
        return result.plan, {"column_excess": jnp.mean(result.column_excess)}

    def candidate_utilities(
        self, agent_states: jax.Array, task_states: jax.Array, candidates: jax.Array
    ) -> jax.Array:
        """f32[B, N, k] utilities of each agent for its candidates (`utilities`, gathered:
        U_is = U[i, c_is]; empty slots hold the utility of task 0, masked by the solver)."""
        agent_embedding = self.agent_embed(agent_states)  # [B, N, E]
        task_embedding = self.task_embed(task_states)  # [B, M, E]
        scale = 1.0 / jnp.sqrt(jnp.float32(self.embedding_dim))
        query = jnp.einsum("bne,ef->bnf", agent_embedding, self.utility_weights) * scale
        safe = jnp.maximum(candidates, 0)
        gathered = jax.vmap(lambda table, index: table[index])(task_embedding, safe)
        utility = jnp.einsum("bnf,bnkf->bnk", query, gathered)  # [B, N, k, E] gathered once
        if self.use_bias:
            agent_bias = self.agent_bias(agent_embedding)  # [B, N, 1]
            task_bias = self.task_bias(task_embedding)[..., 0]  # [B, M]
            utility = utility + agent_bias + jax.vmap(lambda b, i: b[i])(task_bias, safe)
        return utility

    def _solve(self, utility, agent_mask, task_mask, capacity):
        """One example: f32[N, M] utility -> (plan, iterations, marginal error)."""
        log_a, log_b = uniform_marginals(agent_mask, task_mask, capacity)
        result = log_sinkhorn(
            utility,
            log_a,
            log_b,
            agent_mask,
            task_mask,
            epsilon=self.temperature,
            num_iterations=self.num_iterations,
            threshold=self.threshold,
            differentiation=self.differentiation,
            epsilon_start=self.temperature_start,
            epsilon_decay=self.temperature_decay,
        )
        return result.plan, result.iterations, result.marginal_error


def assignment_metrics(
    utility: jax.Array, plan: jax.Array, agent_mask: jax.Array, task_mask: jax.Array
) -> dict[str, jax.Array]:
    """Masked diagnostics of a batch of plans.

    Args:
      utility: f32[B, N, M]; plan: f32[B, N, M]; agent_mask: bool[B, N]; task_mask: bool[B, M].

    Returns:
      utility_mean, utility_std over active pairs; entropy: mean row entropy (nats) of active
      agents; sparsity: share of active pairs with p < 1e-3 (1 - 1/M is a hard assignment).
    """
    plan = jax.lax.stop_gradient(plan)
    utility = jax.lax.stop_gradient(utility)
    pairs = agent_mask[:, :, None] & task_mask[:, None, :]
    num_pairs = jnp.maximum(jnp.sum(pairs), 1)
    mean = jnp.sum(jnp.where(pairs, utility, 0.0)) / num_pairs
    variance = jnp.sum(jnp.where(pairs, (utility - mean) ** 2, 0.0)) / num_pairs
    safe = jnp.where(plan > 0, plan, 1.0)
    row_entropy = -jnp.sum(jnp.where(pairs, plan * jnp.log(safe), 0.0), axis=-1)
    num_agents = jnp.maximum(jnp.sum(agent_mask), 1)
    return {
        "utility_mean": mean,
        "utility_std": jnp.sqrt(variance),
        "entropy": jnp.sum(jnp.where(agent_mask, row_entropy, 0.0)) / num_agents,
        "sparsity": jnp.sum(pairs & (plan < 1e-3)) / num_pairs,
    }
