"""Read and check a model graph: `{"nodes": {name: {"module": kind, ...}}, "edges": [[a, b]]}`.

Every error is a `ConfigError` whose field names the node (`model.graph.nodes.<name>...`) or
the edge (`model.graph.edges.<i>`), raised before any parameter exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marlax.errors import ConfigError
from marlax.models.graph.nodes import HEAD, MEMBER, NODE_KINDS, VECTOR, build_node
from marlax.models.graph.presets import GRAPH_PRESETS
from marlax.validate import require, require_bool

GRAPH_INPUT = "obs"
"""The name edges use for the observation, the graph's one input."""
FIELD = "model.graph"


@dataclass(frozen=True)
class NodeSpec:
    """One node, checked.

    Attributes:
        name: its key in `nodes`.
        kind: a `NODE_KINDS` key.
        settings: its module's settings as sorted (name, value) pairs (hashable).
        inputs: where its inputs come from, in edge order ("obs" or node names).
        frozen: its parameters get no gradient.
    """

    name: str
    kind: str
    settings: tuple[tuple[str, Any], ...]
    inputs: tuple[str, ...]
    frozen: bool


@dataclass(frozen=True)
class GraphSpec:
    """A checked graph: its nodes in an order where every node follows its inputs.

    Attributes:
        nodes: topological order (ties in the order the config lists the nodes).
        obs_kind: "vector", "image" or "grid", the observation the graph reads.
    """

    nodes: tuple[NodeSpec, ...]
    obs_kind: str

    @property
    def output(self) -> str:
        """The name of the policy/value head node."""
        return next(node.name for node in self.nodes if node.kind == HEAD)

    def node(self, name: str) -> NodeSpec:
        """The node called `name`."""
        return next(node for node in self.nodes if node.name == name)


def _node_field(name: str, part: str = "") -> str:
    return f"{FIELD}.nodes.{name}" + (f".{part}" if part else "")


def _read_node(name: Any, node: Any) -> tuple[str, dict[str, Any], bool]:
    """(kind, settings, frozen) of one entry of `nodes`; unknown kinds and settings raise."""
    require(
        isinstance(name, str) and name.isidentifier() and name != GRAPH_INPUT,
        f"{FIELD}.nodes",
        name,
        f"node names that are identifiers other than {GRAPH_INPUT!r}",
    )
    require(isinstance(node, Mapping), _node_field(name), node, 'an object {"module": kind, ...}')
    kind = node.get("module")
    require(kind in NODE_KINDS, _node_field(name, "module"), kind, f"one of {sorted(NODE_KINDS)}")
    frozen = require_bool(_node_field(name, "frozen"), node.get("frozen", kind == MEMBER))
    require(kind != MEMBER or frozen, _node_field(name, "frozen"), frozen, "true (members stay)")
    known = NODE_KINDS[kind].settings()
    settings = {}
    for key, value in node.items():
        if key in ("module", "frozen"):
            continue
        require(key in known, _node_field(name, key), value, f"a {kind} setting in {known}")
        settings[key] = tuple(value) if isinstance(value, list) else value
    return kind, settings, frozen


def _read_edges(edges: Any, names: Sequence[str]) -> dict[str, list[str]]:
    """node -> its input sources in edge order; malformed, dangling or repeated edges raise."""
    require(
        isinstance(edges, list | tuple) and len(edges) > 0,
        f"{FIELD}.edges",
        edges,
        f'a non-empty list of [from, to] pairs (from a node or "{GRAPH_INPUT}")',
    )
    inputs: dict[str, list[str]] = {name: [] for name in names}
    for index, edge in enumerate(edges):
        field = f"{FIELD}.edges.{index}"
        pair = isinstance(edge, list | tuple) and len(edge) == 2
        require(pair, field, edge, "a [from, to] pair of names")
        source, target = edge
        require(
            source in inputs or source == GRAPH_INPUT,
            field,
            edge,
            f"from a node or {GRAPH_INPUT!r}",
        )
        require(target in inputs, field, edge, f"into one of the nodes {list(names)}")
        require(source not in inputs[target], field, edge, "each edge once")
        inputs[target].append(source)
    return inputs


def _topological(names: Sequence[str], inputs: Mapping[str, list[str]]) -> list[str]:
    """Kahn's order, ties in config order; a cycle raises naming a node on it."""
    done: list[str] = []
    left = list(names)
    while left:
        ready = [n for n in left if all(s == GRAPH_INPUT or s in done for s in inputs[n])]
        if not ready:
            cycle = _cycle_from(left[0], inputs, set(left))
            raise ConfigError(
                _node_field(cycle[0], "inputs"),
                list(inputs[cycle[0]]),
                f"inputs that do not depend on the node itself (cycle {' -> '.join(cycle)})",
            )
        done.append(ready[0])
        left.remove(ready[0])
    return done


def _cycle_from(start: str, inputs: Mapping[str, list[str]], left: set[str]) -> list[str]:
    """A cycle among the unordered nodes `left`, walking back along inputs from `start`."""
    path = [start]
    while True:
        previous = next(s for s in inputs[path[-1]] if s in left)
        if previous in path:
            cycle = path[path.index(previous) :] + [previous]
            return cycle[::-1]
        path.append(previous)


def _check_wiring(order: Sequence[str], kinds: Mapping[str, str], inputs: Mapping) -> None:
    """Every node fed, exactly one head, which is the only node nothing reads."""
    heads = [name for name in order if kinds[name] == HEAD]
    require(len(heads) > 0, f"{FIELD}.nodes", list(order), 'one node with "module": "head"')
    require(len(heads) == 1, _node_field(heads[-1], "module"), HEAD, "one head per graph")
    read = {source for sources in inputs.values() for source in sources}
    for name in order:
        require(len(inputs[name]) > 0, _node_field(name, "inputs"), [], "at least one edge in")
        if kinds[name] == HEAD:
            require(name not in read, _node_field(name), name, "the output: no edge out of it")
        else:
            require(name in read, _node_field(name), name, "a node whose output feeds another")


def _check_feature_kinds(
    order: Sequence[str], kinds: Mapping[str, str], inputs: Mapping, obs_kind: str
) -> None:
    """What flows along every edge is what its target takes (e.g. a grid encoder reads the
    observation, not another node's features)."""
    gives = {GRAPH_INPUT: obs_kind}
    for name in order:
        kind = NODE_KINDS[kinds[name]]
        fed = [gives[source] for source in inputs[name]]
        field = _node_field(name, "inputs")
        described = [f"{source} ({gives[source]})" for source in inputs[name]]
        if kinds[name] == MEMBER:
            require(inputs[name] == [GRAPH_INPUT], field, described, f"only {GRAPH_INPUT!r}")
        if len(fed) > 1:
            require(set(fed) == {VECTOR}, field, described, "vectors only (they are concatenated)")
        require(fed[0] in kind.takes, field, described, f"{' or '.join(kind.takes)} input")
        gives[name] = kind.gives


def read_graph(
    graph: Any,
    obs_kind: str,
    head_settings: Mapping[str, Any] | None = None,
    kind_defaults: Mapping[str, Mapping[str, Any]] | None = None,
) -> GraphSpec:
    """Check a graph config and put its nodes in execution order.

    Args:
        graph: a `GRAPH_PRESETS` name, or {"nodes": {name: {"module": kind, "frozen": bool,
            **settings}}, "edges": [[from, to], ...]}; `from` is a node or "obs". Several
            edges into one node are concatenated on the feature axis, in edge order.
        obs_kind: "vector", "image" or "grid" (`marlax.models.registry.encoder_for_space`).
        head_settings: settings the head gets from the spaces (num_actions, continuous,
            value_bins); with them every node is built once to check its settings' values.
        kind_defaults: kind -> settings a node of that kind gets unless it sets them (e.g.
            a grid encoder's `vocab_sizes`, read off the observation space).

    Raises:
        ConfigError: naming the node or edge: an unknown kind or setting, a bad value, a cycle,
            a node without input or whose output is unused, not exactly one head, a member
            not fed the observation, or inputs of the wrong kind.
    """
    if isinstance(graph, str):
        require(graph in GRAPH_PRESETS, FIELD, graph, f"one of {sorted(GRAPH_PRESETS)} or a graph")
        graph = GRAPH_PRESETS[graph]
    require(
        isinstance(graph, Mapping) and set(graph) == {"nodes", "edges"},
        FIELD,
        graph,
        'a preset name or {"nodes": {...}, "edges": [[from, to], ...]}',
    )
    nodes = graph["nodes"]
    require(isinstance(nodes, Mapping) and len(nodes) > 0, f"{FIELD}.nodes", nodes, "some nodes")
    read = {name: _read_node(name, node) for name, node in nodes.items()}
    names = list(read)
    inputs = _read_edges(graph["edges"], names)
    kinds = {name: kind for name, (kind, _, _) in read.items()}
    order = _topological(names, inputs)
    _check_wiring(order, kinds, inputs)
    _check_feature_kinds(order, kinds, inputs, obs_kind)
    specs = []
    for name in order:
        kind, settings, frozen = read[name]
        settings = {**(kind_defaults or {}).get(kind, {}), **settings}
        if kind == HEAD and head_settings is not None:
            settings = {**settings, **head_settings}
        if kind != MEMBER and (kind != HEAD or head_settings is not None):
            build_node(kind, settings, _node_field(name))
        specs.append(
            NodeSpec(name, kind, tuple(sorted(settings.items())), tuple(inputs[name]), frozen)
        )
    return GraphSpec(tuple(specs), obs_kind)
