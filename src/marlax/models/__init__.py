"""Policy/value networks with one recurrent interface.

    carry = model.initialize_carry(batch_shape)
    carry, (logits, value) = model.apply(params, carry, obs, reset)
    carry, (logits, value) = model.apply(params, carry, obs_seq, reset_seq, method="sequence")

`make_model(name, ...)` builds "mlp", "gru", "transformer", "ssm" (selective) or "s5";
`distribution(...)` turns the policy output into a (masked) categorical or diagonal Gaussian.
"""

from marlax.models.base import Core, RecurrentModel
from marlax.models.encoders import GridEncoder, VectorEncoder
from marlax.models.graph import GraphModel, read_graph
from marlax.models.gru import GRUCore
from marlax.models.heads import (
    Categorical,
    DiagGaussian,
    GaussianParams,
    PolicyValueHead,
    distribution,
    mask_logits,
)
from marlax.models.mlp import MLPCore
from marlax.models.registry import list_models, make_model, make_model_for_spaces
from marlax.models.s5 import S5Core
from marlax.models.ssm import SSMCore
from marlax.models.transformer import TransformerCarry, TransformerCore

__all__ = [
    "Categorical",
    "Core",
    "DiagGaussian",
    "GraphModel",
    "GRUCore",
    "GaussianParams",
    "GridEncoder",
    "MLPCore",
    "PolicyValueHead",
    "RecurrentModel",
    "S5Core",
    "SSMCore",
    "TransformerCarry",
    "TransformerCore",
    "VectorEncoder",
    "distribution",
    "list_models",
    "make_model",
    "make_model_for_spaces",
    "mask_logits",
    "read_graph",
]
