"""Graph checks on every Functional config in a parsed `config.json`, before
any layer is built.

A Functional config (``{"layers": [...], "input_layers": ...,
"output_layers": ...}``, at the top or nested anywhere) must describe a
graph kiln can replay:

- at most `MAX_LAYERS` layers and `MAX_NODES` calls (inbound nodes) in all;
- layer names unique;
- every tensor reference (``keras_history`` ``[layer_name, node_index,
  tensor_index]`` inside a ``__keras_tensor__``) names a layer of the same
  config, a call that layer makes (``node_index`` < its number of calls; an
  input layer has one), and a ``tensor_index`` below `MAX_TENSOR_INDEX`;
- ``input_layers``/``output_layers`` resolve the same way;
- no cycles: an iterative Kahn sort over the calls, where a call depends on
  the calls whose outputs it reads and on the same layer's previous call
  (kiln replays a layer's calls in order);
- every call reads at least one tensor of the graph: rebuilding a model
  never runs a layer (or the function of a `Lambda`) on constants chosen by
  the file, eagerly; Keras only writes calls on tensors;
- an ops ``Split`` call makes at most `MAX_SPLIT_SECTIONS` sections (each
  is traced);
- every call is reachable from ``output_layers`` (through the tensors the
  calls read), and every layer without calls is one of ``input_layers``
  (an input may be unused): Keras writes only the part of the graph that
  leads to the outputs, so nothing else is ever built or called.

`replay_order` is the same check for one Functional config, returning the
order in which to replay its calls (the Kahn order): the rebuild
(`functional_from_config`) runs it before it builds anything, so it is
linear in the number of calls whatever order the file lists them in.

Node numbering follows Keras 3 and is written once, in `file_node_index`
(the writer) and `call_index` (the check and the rebuild): inside
``inbound_nodes`` a layer's calls count from 0; in
``input_layers``/``output_layers`` (and Keras 2's list-form nodes) a nested
Functional's calls count from 1. Those places accept 0 to n for a nested
model, so older files stay loadable; the rebuild rejects what does not exist.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from kiln._src.saving.errors import InvalidFileError

MAX_LAYERS = 100_000
MAX_NODES = 1_000_000
MAX_TENSOR_INDEX = 100_000
# An ops node `Split` traces one output per section: a file-chosen count
# would set the time a rebuild takes (Keras models split into a few pieces).
MAX_SPLIT_SECTIONS = 1_000


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def file_node_index(index: int, nested_model: bool, numbered_from_1: bool) -> int:
    """The number a file gives call `index` (from 0) of a layer.

    Keras 3 numbers a nested Functional's calls from 1 in ``input_layers``
    and ``output_layers`` (`numbered_from_1`; its node 0 is the model's own
    inputs-to-outputs node) and from 0 inside ``inbound_nodes``; every other
    layer's calls count from 0 everywhere. `call_index` is the inverse.
    """
    return index + 1 if numbered_from_1 and nested_model else index


def call_index(node_index: int, nested_model: bool, numbered_from_1: bool) -> int:
    """The call (from 0) that a file's `node_index` names: the inverse of
    `file_node_index`, where 0 also names a nested model's first call
    (older files wrote it so)."""
    if numbered_from_1 and nested_model:
        return max(node_index - 1, 0)
    return node_index


def _is_functional_config(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("layers"), list)
        and "input_layers" in value
        and "output_layers" in value
    )


def is_nested_functional(entry: Any) -> bool:
    """Whether a Functional config's layer entry is itself a Functional model
    (its config has ``layers``, ``input_layers`` and ``output_layers``), the
    layers whose calls `file_node_index` numbers from 1. A nested
    `Sequential` (``layers`` only) is not one: Keras numbers its calls from 0
    everywhere, as a plain layer's."""
    return isinstance(entry, dict) and _is_functional_config(entry.get("config"))


def _show(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Graph:
    """One Functional config being checked."""

    def __init__(self, config: dict[str, Any], where: str):
        self.where = where
        self.model = config.get("name")
        self.calls: dict[str, int] = {}  # layer name -> number of calls
        self.is_model: dict[str, bool] = {}
        self.is_split: dict[str, bool] = {}
        self.nodes: dict[str, list[Any]] = {}

    def fail(self, message: str) -> None:
        model = f" model '{self.model}'" if isinstance(self.model, str) else ""
        raise InvalidFileError(
            f"{self.where}: Functional{model}: {message} The file is corrupt or "
            "was edited by hand: Keras and kiln always write a well-formed graph."
        )

    def reference(self, history: Any, context: str, from_1: bool) -> tuple[str, int]:
        """Checks one ``[layer_name, node_index, tensor_index]``; returns the
        call it reads, as ``(layer_name, node_index_from_0)``."""
        if not (
            isinstance(history, list | tuple)
            and len(history) >= 3
            and isinstance(history[0], str)
            and _is_int(history[1])
            and _is_int(history[2])
        ):
            self.fail(
                f"{context} refers to {_show(history)}; expected [layer_name, "
                "node_index, tensor_index] (a string and two integers)."
            )
        name, node_index, tensor_index = history[0], history[1], history[2]
        if name not in self.calls:
            self.fail(
                f"{context} refers to layer '{name}', which the config does not define."
            )
        calls = self.calls[name]
        nested = self.is_model[name]
        # 0 to n for a nested model counted from 1 (0 accepted, see above).
        high = file_node_index(calls - 1, nested, from_1)
        if not 0 <= node_index <= high:
            self.fail(
                f"{context} refers to call (node) {node_index} of layer '{name}', "
                f"which is called {calls} time(s) in this model."
            )
        if not 0 <= tensor_index < MAX_TENSOR_INDEX:
            self.fail(
                f"{context} refers to output (tensor index) {tensor_index} of "
                f"layer '{name}'; expected an integer in [0, {MAX_TENSOR_INDEX})."
            )
        return name, call_index(node_index, nested, from_1)


def layer_name(entry: Any) -> Any:
    """A Functional layer entry's name: its "name", else its config's."""
    name = entry.get("name")
    if name is None and isinstance(entry.get("config"), dict):
        name = entry["config"].get("name")
    return name


def _node_references(node: Any) -> list[Any]:
    """Every ``keras_history`` inside a node's args and kwargs."""
    found = []
    stack = [node]
    while stack:
        value = stack.pop()
        if isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, dict):
            if value.get("class_name") == "__keras_tensor__" and isinstance(
                value.get("config"), dict
            ):
                found.append(value["config"].get("keras_history"))
            else:
                stack.extend(value.values())
    return found


def _structure_references(
    value: Any, graph: _Graph, field: str
) -> list[tuple[str, int]]:
    """Checks the references of ``input_layers``/``output_layers``; returns
    the calls they read."""
    calls = []
    stack = [value]
    while stack:
        item = stack.pop()
        if (
            isinstance(item, list | tuple)
            and len(item) == 3
            and isinstance(item[0], str)
            and _is_int(item[1])
            and _is_int(item[2])
        ):
            calls.append(
                graph.reference(item, f"'{field}' entry {_show(item)}", from_1=True)
            )
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        else:
            graph.fail(
                f"'{field}' holds {_show(item)}; expected [layer_name, node_index, "
                "tensor_index] entries in lists or dicts."
            )
    return calls


def replay_order(config: dict[str, Any], where: str) -> list[tuple[str, int]]:
    """Checks one Functional config (the rules in the module docstring, not
    its nested models) and returns its calls ``(layer_name, call_index)`` in
    an order where every call comes after the calls it reads and after the
    same layer's previous call. Raises `InvalidFileError`."""
    graph = _Graph(config, where)
    layers = config.get("layers")
    if not isinstance(layers, list) or not all(
        key in config for key in ("input_layers", "output_layers")
    ):
        graph.fail(
            "a Functional config needs 'layers' (a list), 'input_layers' and "
            f"'output_layers'; it has keys {_show(sorted(map(str, config)))}."
        )
    if len(layers) > MAX_LAYERS:
        graph.fail(f"it has {len(layers)} layers, over the limit of {MAX_LAYERS}.")
    total_nodes = 0
    for position, entry in enumerate(layers):
        if not isinstance(entry, dict):
            graph.fail(f"layers[{position}] is {_show(entry)}; expected an object.")
        name = layer_name(entry)
        if not isinstance(name, str):
            graph.fail(f"layers[{position}] has no name (a string).")
        if name in graph.calls:
            graph.fail(
                f"layer name '{name}' appears twice (layers[{position}]); layer "
                "names in a model must be unique."
            )
        nodes = entry.get("inbound_nodes", [])
        if not isinstance(nodes, list):
            graph.fail(
                f"layer '{name}' has inbound_nodes {_show(nodes)}; expected a list."
            )
        total_nodes += len(nodes)
        if total_nodes > MAX_NODES:
            graph.fail(f"it has more than {MAX_NODES} nodes (layer calls).")
        graph.nodes[name] = nodes
        # A layer without inbound nodes (an input layer) provides one call.
        graph.calls[name] = max(len(nodes), 1)
        graph.is_model[name] = is_nested_functional(entry)
        graph.is_split[name] = entry.get("class_name") == "Split" and str(
            entry.get("module")
        ).startswith("keras.src.ops")

    # Kahn sort over calls (layer name, call index from 0). `reads` holds the
    # data edges only (for reachability); `waiting` also counts the edge to
    # the same layer's previous call.
    dependents: dict[tuple[str, int], list[tuple[str, int]]] = {}
    reads: dict[tuple[str, int], list[tuple[str, int]]] = {}
    waiting: dict[tuple[str, int], int] = {}
    for name, nodes in graph.nodes.items():
        for index, node in enumerate(nodes):
            call = (name, index)
            context = f"layer '{name}' call (node) {index}"
            if isinstance(node, dict):
                needs = [
                    graph.reference(history, context, from_1=False)
                    for history in _node_references(node)
                ]
            elif isinstance(node, list):  # Keras 2's [[layer, node, tensor, kwargs]]
                needs = [graph.reference(item, context, from_1=True) for item in node]
            else:
                graph.fail(f"{context} is {_show(node)}; expected an object.")
            if graph.is_split[name]:
                _check_split(graph, node, context)
            if not needs:
                graph.fail(
                    f"{context} reads no tensor of the graph (its arguments are "
                    "constants only). kiln never runs a layer on constants from a "
                    "file while rebuilding a model, and Keras never writes such a "
                    "call."
                )
            reads[call] = needs
            order_needs = needs + [(name, index - 1)] if index > 0 else needs
            waiting[call] = len(order_needs)
            for need in order_needs:
                dependents.setdefault(need, []).append(call)
        if not nodes:
            waiting[(name, 0)] = 0
    ready = deque(call for call, count in waiting.items() if count == 0)
    order: list[tuple[str, int]] = []
    while ready:
        call = ready.popleft()
        order.append(call)
        for dependent in dependents.get(call, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                ready.append(dependent)
    if len(order) < len(waiting):
        stuck = sorted({name for (name, _), count in waiting.items() if count > 0})
        graph.fail(
            f"its graph has a cycle: layers {stuck[:10]} (directly or through "
            "each other) take their own outputs as inputs."
        )
    inputs = _structure_references(config["input_layers"], graph, "input_layers")
    outputs = _structure_references(config["output_layers"], graph, "output_layers")
    _check_reachable(graph, reads, inputs, outputs)
    return [call for call in order if graph.nodes[call[0]]]


def _check_split(graph: _Graph, node: Any, context: str) -> None:
    """An ops `Split` node splits into at most `MAX_SPLIT_SECTIONS` pieces (a
    list of split points is bounded by the file's size already)."""
    if not isinstance(node, dict):
        return
    args, kwargs = node.get("args"), node.get("kwargs")
    sections = None
    if isinstance(args, list) and len(args) > 1:
        sections = args[1]
    elif isinstance(kwargs, dict):
        sections = kwargs.get("indices_or_sections")
    if _is_int(sections) and sections > MAX_SPLIT_SECTIONS:
        graph.fail(
            f"{context} splits a tensor into {sections} sections; at most "
            f"{MAX_SPLIT_SECTIONS} are allowed (each section is traced while the "
            "model is rebuilt, so the count sets how long loading takes)."
        )


def _check_reachable(
    graph: _Graph,
    reads: dict[tuple[str, int], list[tuple[str, int]]],
    inputs: list[tuple[str, int]],
    outputs: list[tuple[str, int]],
) -> None:
    """Every call leads to an output; every layer without calls is an input."""
    seen = set(outputs)
    stack = list(outputs)
    while stack:
        for need in reads.get(stack.pop(), ()):
            if need not in seen:
                seen.add(need)
                stack.append(need)
    input_names = {name for name, _ in inputs}
    for name, nodes in graph.nodes.items():
        if not nodes:
            if name not in input_names:
                graph.fail(
                    f"layer '{name}' has no calls (inbound nodes) and is not one of "
                    "the model's inputs ('input_layers'): it is not part of the "
                    "graph. Keras only writes the layers that lead to the outputs."
                )
            continue
        for index in range(len(nodes)):
            if (name, index) not in seen:
                graph.fail(
                    f"layer '{name}' call (node) {index} does not lead to any of the "
                    "model's outputs ('output_layers'). Keras only writes the calls "
                    "that lead to the outputs; kiln refuses the others before it "
                    "builds or calls anything."
                )


def check_graph(config: Any, where: str = "config.json") -> None:
    """Raises `InvalidFileError` if any Functional config inside `config` (a
    parsed `config.json` or `model.to_json()`) is not a well-formed graph.

    Args:
        config: the parsed JSON.
        where: what the config is, for messages.
    """
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, dict):
            if _is_functional_config(value):
                replay_order(value, where)
            stack.extend(value.values())
