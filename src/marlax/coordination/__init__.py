"""Differentiable coordination operators for teams of 10 to 10,000+ agents, linear in N.

from marlax.coordination import (
    AdaptiveProjection, DifferentiableAssignment, RobustConsensus, TensorConsensusPipeline,
)
from marlax.coordination import local_sinkhorn  # Sinkhorn over each agent's k candidate tasks
"""

from marlax.coordination.assignment import DifferentiableAssignment
from marlax.coordination.consensus import RobustConsensus
from marlax.coordination.layers import AssignmentHead, ConsensusMessage
from marlax.coordination.pipeline import TensorConsensusPipeline
from marlax.coordination.projection import AdaptiveProjection
from marlax.coordination.rounding import (
    assignment_cost,
    auction_rounding,
    hungarian,
    round_assignment,
)
from marlax.coordination.sinkhorn import SinkhornResult, log_sinkhorn, uniform_marginals
from marlax.coordination.sinkhorn_local import LocalSinkhornResult, local_sinkhorn

__all__ = [
    "AdaptiveProjection",
    "AssignmentHead",
    "ConsensusMessage",
    "DifferentiableAssignment",
    "LocalSinkhornResult",
    "RobustConsensus",
    "SinkhornResult",
    "TensorConsensusPipeline",
    "assignment_cost",
    "auction_rounding",
    "hungarian",
    "local_sinkhorn",
    "log_sinkhorn",
    "round_assignment",
    "uniform_marginals",
]
