"""Model graphs: a config-described DAG of modules run as one recurrent policy/value model.

    model.graph = {"nodes": {"enc": {"module": "image"}, "core": {"module": "gru"},
                             "head": {"module": "head"}},
                   "edges": [["obs", "enc"], ["enc", "core"], ["core", "head"]]}

or a preset name (`GRAPH_PRESETS`). `read_graph` checks it (acyclic, every input fed, one head,
known kinds and settings, feature kinds that fit); `GraphModel` runs it.
"""

from marlax.models.graph.model import GraphModel, Members
from marlax.models.graph.nodes import NODE_KINDS, NodeKind
from marlax.models.graph.presets import GRAPH_PRESETS
from marlax.models.graph.spec import GRAPH_INPUT, GraphSpec, NodeSpec, read_graph

__all__ = [
    "GRAPH_INPUT",
    "GRAPH_PRESETS",
    "NODE_KINDS",
    "GraphModel",
    "GraphSpec",
    "Members",
    "NodeKind",
    "NodeSpec",
    "read_graph",
]
