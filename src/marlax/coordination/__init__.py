"""Differentiable coordination operators for teams of 10 to 10,000+ agents, linear in N.

from marlax.coordination import (
    AdaptiveProjection, DifferentiableAssignment, RobustConsensus, TensorConsensusPipeline,
)
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

__all__ = [
    "AdaptiveProjection",
    "AssignmentHead",
    "ConsensusMessage",
    "DifferentiableAssignment",
    "RobustConsensus",
    "SinkhornResult",
    "TensorConsensusPipeline",
    "assignment_cost",
    "auction_rounding",
    "hungarian",
    "log_sinkhorn",
    "round_assignment",
    "uniform_marginals",
]
