"""The node kinds a model graph may use: which module each builds, what it takes and gives.

Feature kinds flowing along edges:
    "vector"  f32[*lead, D]          (encoders, cores, heads read and write these)
    "tokens"  f32[*lead, S, D]       (a set of tokens, e.g. the cells of a conv feature map)
    "image"   f32[*lead, H, W, C]    (a float observation)
    "grid"    i32[*lead, V, V, C]    (an id-grid observation)
`*lead` is [*batch] for one step and [T, *batch] for a sequence; the agents are the last batch
axis. A node with several inputs gets them concatenated on the feature axis (vectors only).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax

from marlax.errors import ConfigError
from marlax.models.encoders import GridEncoder, ImageEncoder, VectorEncoder
from marlax.models.graph.perception import ConvTokens, TeamConsensus, TokenSelfAttention
from marlax.models.gru import GRUCore
from marlax.models.heads import PolicyValueHead
from marlax.models.mlp import MLPCore
from marlax.models.s5 import S5Core
from marlax.models.ssm import SSMCore
from marlax.models.transformer import TransformerCore

VECTOR, TOKENS, IMAGE, GRID = "vector", "tokens", "image", "grid"
HEAD = "head"
MEMBER = "member"
HEAD_FROM_SPACES = ("num_actions", "continuous", "value_bins")
"""Head settings the builder fills from the action space and the value head, not the user."""
MEMBER_SETTINGS = ("run", "seed")
"""A member node's settings: the run folder it is loaded from and which of its seeds."""


@dataclass(frozen=True)
class NodeKind:
    """One registered node kind.

    Attributes:
        module: the flax module class it builds (None for "member", injected by the caller).
        takes: the feature kinds it accepts as input.
        gives: the feature kind it outputs ("output" for the policy/value head).
        recurrent: it has a carry and `sequence` (the `Core` protocol).
    """

    module: type | None
    takes: tuple[str, ...]
    gives: str
    recurrent: bool = False

    def settings(self) -> list[str]:
        """Setting names a node of this kind accepts (besides "module" and "frozen")."""
        if self.module is None:
            return list(MEMBER_SETTINGS)
        names = [field.name for field in dataclasses.fields(self.module)]
        hidden = ("parent", "name", *(HEAD_FROM_SPACES if self.module is PolicyValueHead else ()))
        return [name for name in names if name not in hidden]


NODE_KINDS: dict[str, NodeKind] = {
    "vector": NodeKind(VectorEncoder, (VECTOR,), VECTOR),
    "grid": NodeKind(GridEncoder, (GRID,), VECTOR),
    "image": NodeKind(ImageEncoder, (IMAGE,), VECTOR),
    "conv": NodeKind(ConvTokens, (IMAGE,), TOKENS),
    "self_attention": NodeKind(TokenSelfAttention, (TOKENS,), VECTOR),
    "mlp": NodeKind(MLPCore, (VECTOR,), VECTOR),
    "gru": NodeKind(GRUCore, (VECTOR,), VECTOR, recurrent=True),
    "transformer": NodeKind(TransformerCore, (VECTOR,), VECTOR, recurrent=True),
    "ssm": NodeKind(SSMCore, (VECTOR,), VECTOR, recurrent=True),
    "s5": NodeKind(S5Core, (VECTOR,), VECTOR, recurrent=True),
    "consensus": NodeKind(TeamConsensus, (VECTOR,), VECTOR),
    HEAD: NodeKind(PolicyValueHead, (VECTOR,), "output"),
    MEMBER: NodeKind(None, (VECTOR, IMAGE, GRID), VECTOR, recurrent=True),
}
"""Node kind -> what it is; a member is a frozen trained model (`GraphModel.members`)."""


def stop_gradient_tree(variables: Any) -> Any:
    """Every leaf through `lax.stop_gradient`: read as constants, gradients flow around them."""
    return jax.tree.map(jax.lax.stop_gradient, variables)


def build_node(kind: str, settings: dict[str, Any], field: str) -> nn.Module:
    """An unbound module of `kind` with `settings`; a bad value names `field.<setting>`.

    Module checks name their settings "core.x", "encoder.x" or "x": the prefix goes.
    """
    try:
        return NODE_KINDS[kind].module(**settings)
    except ConfigError as error:
        setting = error.field.split(".")[-1]
        raise ConfigError(f"{field}.{setting}", error.value, error.expected) from None


def frozen_class(module_class: type) -> type:
    """`module_class` whose parameters read through `stop_gradient` in every method that uses
    them: the node learns nothing, while gradients still pass through it to its inputs."""
    return nn.map_variables(
        module_class,
        "params",
        trans_in_fn=stop_gradient_tree,
        init=True,
        methods=["__call__", "sequence"] if hasattr(module_class, "sequence") else None,
    )
