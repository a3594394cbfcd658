"""A model graph executed as one module behind the `RecurrentModel` interface.

    model = make_model_for_spaces("mlp", obs_space, act_space, graph="perception_conception_action")
    carry = model.initialize_carry((num_envs, num_agents))   # {recurrent node: its carry}
    carry, (logits, value) = model.apply(params, carry, obs, reset)
    carry, (logits, value) = model.apply(params, carry, obs_seq, reset_seq, method="sequence")

Nodes run in topological order. Recurrent nodes (gru, transformer, ssm, member) keep their own
carry in the one graph carry and run their own `sequence` on sequences, so `sequence` equals a
loop of steps; the other nodes treat time as one more batch axis. A frozen node's parameters
are read through `stop_gradient`: they never change, yet gradients reach the nodes before it.
Parameters live under `node_<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp

from marlax.models.base import Carry, PolicyOutput, RecurrentModel
from marlax.models.graph.nodes import MEMBER, NODE_KINDS, frozen_class
from marlax.models.graph.spec import GRAPH_INPUT, GraphSpec, NodeSpec
from marlax.models.precision import cast_floating, cast_parameters, compute_dtype

OBS_RANKS = {"vector": 1, "image": 3, "grid": 3}


@dataclass(frozen=True)
class Members:
    """The trained models of a graph's "member" nodes, by node name.

    A plain dataclass, not a tuple attribute of the graph module: flax would adopt modules it
    finds in a tuple as submodules of the graph, while each member is rebuilt inside its node.
    """

    models: tuple[tuple[str, RecurrentModel], ...] = ()

    def model(self, name: str) -> RecurrentModel:
        """The member model of node `name`."""
        return dict(self.models)[name]


def _member_fields(member: RecurrentModel) -> dict[str, Any]:
    """The constructor fields of a `RecurrentModel`, to rebuild it as a frozen class."""
    fields = ("encoder", "core", "head", "dtype")
    return {field: getattr(member, field) for field in fields}


class GraphModel(nn.Module):
    """A checked graph of modules (`read_graph`) as one recurrent policy/value model.

    Attributes:
        graph: the nodes in execution order and the observation kind.
        members: (node name, trained `RecurrentModel`) for every "member" node; its parameters
            are set from the trained run by the caller (`marlax.algorithms.ppo.networks`).
        dtype: compute dtype, "float32" or "bfloat16", as in `RecurrentModel`.
    """

    graph: GraphSpec
    members: Members = Members()
    dtype: str = "float32"

    def __post_init__(self) -> None:
        compute_dtype("model.dtype", self.dtype)
        super().__post_init__()

    @property
    def obs_rank(self) -> int:
        """Trailing axes of one observation."""
        return OBS_RANKS[self.graph.obs_kind]

    @nn.nowrap
    def apply(self, variables: Any, *args: Any, **kwargs: Any) -> Any:
        """`nn.Module.apply` on float variables cast to the compute dtype (see RecurrentModel)."""
        if self.dtype != "float32":
            variables = cast_parameters(variables, compute_dtype("model.dtype", self.dtype))
        return super().apply(variables, *args, **kwargs)

    @nn.nowrap
    def _node_module(self, node: NodeSpec, **parent: Any) -> nn.Module:
        """A fresh module for `node` (frozen ones read their parameters through stop_gradient);
        `parent=None` gives a free-standing one, else it becomes a child of this graph."""
        if node.kind == MEMBER:
            member = self.members.model(node.name)
            return frozen_class(type(member))(**_member_fields(member), **parent)
        module_class = NODE_KINDS[node.kind].module
        if node.frozen:
            module_class = frozen_class(module_class)
        return module_class(**dict(node.settings), **parent)

    def setup(self) -> None:
        self.node = {node.name: self._node_module(node) for node in self.graph.nodes}

    @nn.nowrap
    def initialize_carry(self, batch_shape: tuple[int, ...]) -> Carry:
        """{recurrent node name: its empty carry} for every element of `batch_shape`."""
        return {
            node.name: self._node_module(node, parent=None).initialize_carry(tuple(batch_shape))
            for node in self.graph.nodes
            if NODE_KINDS[node.kind].recurrent
        }

    def _run_node(
        self, node: NodeSpec, carry: Any, features: jax.Array, reset: jax.Array, sequence: bool
    ) -> tuple[Any, Any]:
        """One node on its (concatenated) input: (its carry or None, its output)."""
        module = self.node[node.name]
        if node.kind == MEMBER:
            carry, (policy_output, value) = (module.sequence if sequence else module)(
                carry, features, reset
            )
            return carry, _member_features(policy_output, value)
        if NODE_KINDS[node.kind].recurrent:
            return (module.sequence if sequence else module)(carry, features, reset)
        if node.kind == "mlp":
            return module(None, features, reset)
        return None, module(features)

    def _forward(
        self, carry: Carry, obs: jax.Array, reset: jax.Array, sequence: bool
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """Every node in order; returns (new carry, the head's output), all f32."""
        chex.assert_shape(reset, obs.shape[: obs.ndim - self.obs_rank])
        outputs = {GRAPH_INPUT: cast_floating(obs, compute_dtype("model.dtype", self.dtype))}
        new_carry = {}
        for node in self.graph.nodes:
            sources = [outputs[source] for source in node.inputs]
            features = sources[0] if len(sources) == 1 else jnp.concatenate(sources, axis=-1)
            node_carry, outputs[node.name] = self._run_node(
                node, carry.get(node.name), features, reset, sequence
            )
            if node.name in carry:
                new_carry[node.name] = node_carry
        return cast_floating((new_carry, outputs[self.graph.output]), jnp.float32)

    def __call__(
        self, carry: Carry, obs: jax.Array, reset: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """One step: (carry, [*batch, *obs_shape], bool[*batch]) -> (carry, (logits
        f32[*batch, A] or GaussianParams, value f32[*batch]))."""
        return self._forward(carry, obs, reset, sequence=False)

    def sequence(
        self, carry: Carry, obs_seq: jax.Array, reset_seq: jax.Array
    ) -> tuple[Carry, tuple[PolicyOutput, jax.Array]]:
        """T steps, equal to T calls of `__call__`: (carry, [T, *batch, *obs_shape],
        bool[T, *batch]) -> (carry, (f32[T, *batch, A], f32[T, *batch]))."""
        return self._forward(carry, obs_seq, reset_seq, sequence=True)


def _member_features(policy_output: Any, value: jax.Array) -> jax.Array:
    """A member's outputs as one vector: its logits (or Gaussian mean and log-std), then its
    value (or value logits): f32[..., A + 1] for a discrete member with a scalar value."""
    leaves = jax.tree.leaves(policy_output)
    if value.ndim < leaves[0].ndim:
        value = value[..., None]
    return jnp.concatenate([*leaves, value.astype(leaves[0].dtype)], axis=-1)
