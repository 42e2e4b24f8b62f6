"""A Functional model's config (`layers`, `inbound_nodes`, `input_layers`,
`output_layers`) and its reconstruction, in Keras 3's format.

Tensors in a node are written as ``{"class_name": "__keras_tensor__", "config":
{"shape", "dtype", "keras_history": [op_name, node_index, tensor_index]}}``,
where `node_index` counts only the calls that belong to this model, from 0.
Keras 3 numbers a nested Functional's calls from 1 in ``input_layers`` and
``output_layers`` only (its reader subtracts 1 there), and from 0 in nodes:
`graph_checks.file_node_index` and `graph_checks.call_index` hold that rule
for the writer, the check and the rebuild.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import jax

from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.saving.safety import graph_checks
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _is_functional(operation: Any) -> bool:
    from kiln._src.models.functional import Functional

    return isinstance(operation, Functional)


_state = threading.local()  # how many get_config/from_config calls are open


@contextlib.contextmanager
def _nesting_guard(action: str, name: Any) -> Iterator[None]:
    """Turns a `RecursionError` of deeply nested models into a clear error.

    A graph's length costs no recursion (every walk is iterative), but each
    Functional nested in another adds a few Python frames to `get_config`
    and `from_config` (they call each other through the serializer, as in
    Keras), so a few hundred levels reach Python's recursion limit. The
    outermost call reports it once.
    """
    level = getattr(_state, "level", 0)
    _state.level = level + 1
    try:
        yield
    except RecursionError:
        if level:
            raise
        raise ValueError(
            f"Cannot {action} model '{name}': its Functional models are nested "
            f"too deeply (Python's recursion limit, {sys.getrecursionlimit()}, "
            "was reached; each nested model costs a few frames). A .keras file "
            "holds about 30 levels of nested models (config.json nests at most "
            "100 levels), however long each graph is. Flatten the inner models "
            "(call their layers directly on the outer model's tensors), or, for "
            "an in-memory config only, raise the limit with "
            "sys.setrecursionlimit()."
        ) from None
    finally:
        _state.level = level


def get_functional_config(model: Any) -> dict[str, Any]:
    with _nesting_guard("get the config of", model.name):
        return _get_functional_config(model)


def _get_functional_config(model: Any) -> dict[str, Any]:
    network_nodes = model._network_node_ids
    # id(node) -> its index among the operation's calls in this model.
    own_index: dict[int, int] = {}
    for operation in model._operations:
        kept = 0
        for node in operation._inbound_nodes:
            if id(node) in network_nodes:
                own_index[id(node)] = kept
                kept += 1

    def history_of(tensor: KerasTensor, in_structure: bool = False) -> list[Any]:
        operation, node_index, tensor_index = tensor._keras_history
        node = operation._inbound_nodes[node_index]
        index = own_index.get(id(node), node_index)
        index = graph_checks.file_node_index(
            index, _is_functional(operation), numbered_from_1=in_structure
        )
        return [operation.name, index, tensor_index]

    def serialize_argument(value: Any) -> Any:
        if isinstance(value, KerasTensor):
            return {
                "class_name": "__keras_tensor__",
                "config": {
                    "shape": list(value.shape),
                    "dtype": value.dtype,
                    "keras_history": history_of(value),
                },
            }
        if isinstance(value, list | tuple):
            return [serialize_argument(v) for v in value]
        if isinstance(value, dict):
            return {k: serialize_argument(v) for k, v in value.items()}
        return serialize_keras_object(value)

    layers = []
    for operation in model._operations:
        envelope = serialize_keras_object(operation)
        envelope["name"] = operation.name
        envelope["inbound_nodes"] = [
            {
                "args": serialize_argument(list(node.arguments_args)),
                "kwargs": serialize_argument(node.arguments_kwargs),
            }
            for node in operation._inbound_nodes
            if id(node) in network_nodes and not node.is_input
        ]
        layers.append(envelope)

    def structure(value: Any) -> Any:
        if isinstance(value, KerasTensor):
            return history_of(value, in_structure=True)
        if isinstance(value, list):
            return [structure(v) for v in value]
        return {k: structure(v) for k, v in value.items()}

    return {
        "name": model.name,
        "trainable": model.trainable,
        "layers": layers,
        "input_layers": structure(model._inputs_struct),
        "output_layers": structure(model._outputs_struct),
    }


def _is_leaf_reference(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 3
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
    )


def functional_from_config(
    cls: type, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """Rebuilds a Functional model: check the graph and get its replay order
    (`graph_checks.replay_order`: every call reads a tensor of the graph and
    leads to an output, no cycles), create every layer, then replay the
    calls once each, in that order. Linear in the number of calls."""
    with _nesting_guard("rebuild", config.get("name")):
        return _functional_from_config(cls, config, custom_objects)


def _functional_from_config(
    cls: type, config: dict[str, Any], custom_objects: dict[str, Any] | None
) -> Any:
    # Before any layer is built or called: refuses constant-only calls and
    # calls or layers that lead to no output (the same check `load_model`
    # and `kiln verify` run on the whole file; here also for configs that
    # reach `from_config` another way).
    order = graph_checks.replay_order(config, "Functional config")
    created: dict[str, Any] = {}
    nested_model: dict[str, bool] = {}
    # (layer name, index of the call in this model, from 0) -> its outputs
    node_outputs: dict[tuple[str, int], Any] = {}
    nodes_of: dict[str, list[Any]] = {}
    for layer_config in config["layers"]:
        name = graph_checks.layer_name(layer_config)  # as the check read it
        envelope = {
            k: v for k, v in layer_config.items() if k not in ("name", "inbound_nodes")
        }
        layer = deserialize_keras_object(envelope, custom_objects=custom_objects)
        created[name] = layer
        # The check's reading of the numbering rule, so both agree on a call.
        nested_model[name] = graph_checks.is_nested_functional(layer_config)
        nodes = layer_config.get("inbound_nodes", [])
        if not nodes and hasattr(layer, "_input_tensor"):
            node_outputs[(name, 0)] = layer.output
        nodes_of[name] = nodes

    def resolve(value: Any) -> Any:
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            history = value["config"]["keras_history"]
            return tensor_at(history)
        if isinstance(value, list | tuple):
            # get_config() (unlike the JSON file) may hold tuples.
            return [resolve(v) for v in value]
        if isinstance(value, dict):
            if "class_name" in value and "config" in value:
                return deserialize_keras_object(value, custom_objects=custom_objects)
            return {k: resolve(v) for k, v in value.items()}
        return value

    def tensor_at(history: Any, functional_from_1: bool = False) -> Any:
        """The tensor `history` names. With `functional_from_1` (input/output
        layers, and Keras 2's node lists), a nested Functional's calls are
        numbered from 1."""
        layer_name, node_index, tensor_index = history[:3]
        node_index = graph_checks.call_index(
            node_index, nested_model[layer_name], functional_from_1
        )
        key = (layer_name, node_index)
        if key not in node_outputs:
            raise ValueError(
                f"A node or the model's inputs/outputs refer to call {node_index} "
                f"of layer '{layer_name}', which the config never makes (a layer "
                "without inbound nodes must be an InputLayer)."
            )
        outputs = jax.tree_util.tree_leaves(
            node_outputs[key], is_leaf=lambda x: isinstance(x, KerasTensor)
        )
        if not 0 <= tensor_index < len(outputs):
            raise ValueError(
                f"A node refers to output {tensor_index} of layer '{layer_name}', "
                f"which has {len(outputs)} output(s)."
            )
        return outputs[tensor_index]

    def call_node(name: str, node: Any) -> Any:
        layer = created[name]
        if isinstance(node, dict):
            args = resolve(node.get("args", []))
            kwargs = resolve(node.get("kwargs", {}))
        else:  # legacy: [[layer, node, tensor, kwargs], ...]
            tensors = [tensor_at(entry, functional_from_1=True) for entry in node]
            kwargs = (
                node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
            )
            args = [tensors[0] if len(tensors) == 1 else tensors]
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise ValueError(
                f"Invalid node for layer '{name}': 'args' must be a list and "
                "'kwargs' an object."
            )
        kwargs = {k: v for k, v in kwargs.items() if k != "mask" or v is not None}
        return layer(*args, **kwargs)

    # The replay order puts a layer's calls in their order, so the call
    # index is the layer's count of calls so far.
    for name, index in order:
        node_outputs[(name, index)] = call_node(name, nodes_of[name][index])

    def build_structure(value: Any) -> Any:
        if _is_leaf_reference(value):
            return tensor_at(value, functional_from_1=True)
        if isinstance(value, list | tuple):
            return [build_structure(v) for v in value]
        if isinstance(value, dict):
            return {k: build_structure(v) for k, v in value.items()}
        raise ValueError(f"Invalid input_layers/output_layers entry: {value!r}")

    inputs = build_structure(config["input_layers"])
    outputs = build_structure(config["output_layers"])
    extra = {
        k: v
        for k, v in config.items()
        if k not in ("name", "trainable", "layers", "input_layers", "output_layers")
    }
    return cls(
        inputs=inputs,
        outputs=outputs,
        name=config.get("name"),
        trainable=config.get("trainable", True),
        **extra,
    )
