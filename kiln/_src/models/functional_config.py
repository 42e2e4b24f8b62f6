"""A Functional model's config (`layers`, `inbound_nodes`, `input_layers`,
`output_layers`) and its reconstruction, in Keras 3's format.

Tensors in a node are written as ``{"class_name": "__keras_tensor__", "config":
{"shape", "dtype", "keras_history": [op_name, node_index, tensor_index]}}``,
where `node_index` counts only the calls that belong to this model, from 0.
Keras 3 numbers a nested Functional's calls from 1 in ``input_layers`` and
``output_layers`` only (its reader subtracts 1 there), and from 0 in nodes.
"""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.saving.serialization_lib import (
    deserialize_keras_object,
    serialize_keras_object,
)


def _is_functional(operation: Any) -> bool:
    from kiln._src.models.functional import Functional

    return isinstance(operation, Functional)


def get_functional_config(model: Any) -> dict[str, Any]:
    network_nodes = model._network_node_ids
    # id(node) -> its index among the operation's calls in this model.
    call_index: dict[int, int] = {}
    for operation in model._operations:
        kept = 0
        for node in operation._inbound_nodes:
            if id(node) in network_nodes:
                call_index[id(node)] = kept
                kept += 1

    def history_of(tensor: KerasTensor, in_structure: bool = False) -> list[Any]:
        operation, node_index, tensor_index = tensor._keras_history
        node = operation._inbound_nodes[node_index]
        index = call_index.get(id(node), node_index)
        if in_structure and _is_functional(operation):
            index += 1
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


class _NotReady(Exception):
    """A node's input has not been computed yet; retry on a later sweep."""


def functional_from_config(
    cls: type, config: dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Any:
    """Rebuilds a Functional model: create every layer, then replay each
    layer's calls once their inputs exist."""
    if not isinstance(config.get("layers"), list):
        raise ValueError(
            "A Functional config needs a 'layers' list. Received keys: "
            f"{sorted(config)}"
        )
    created: dict[str, Any] = {}
    # (layer name, index of the call in this model, from 0) -> its outputs
    node_outputs: dict[tuple[str, int], Any] = {}
    pending: dict[str, list[Any]] = {}
    order: list[str] = []
    for layer_config in config["layers"]:
        name = layer_config.get("name") or layer_config.get("config", {}).get("name")
        if not isinstance(name, str):
            raise ValueError(
                f"Every layer of a Functional config needs a name. Received: "
                f"{str(layer_config)[:200]}"
            )
        if name in created:
            raise ValueError(
                f"The Functional config lists layer '{name}' twice; layer names "
                "must be unique."
            )
        envelope = {
            k: v for k, v in layer_config.items() if k not in ("name", "inbound_nodes")
        }
        layer = deserialize_keras_object(envelope, custom_objects=custom_objects)
        created[name] = layer
        order.append(name)
        nodes = layer_config.get("inbound_nodes", [])
        if not nodes and hasattr(layer, "_input_tensor"):
            node_outputs[(name, 0)] = layer.output
        pending[name] = list(nodes)

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
        if layer_name not in created:
            raise ValueError(
                f"A node refers to layer '{layer_name}', which the config does not "
                "define."
            )
        if functional_from_1 and _is_functional(created[layer_name]):
            node_index -= 1
        key = (layer_name, node_index)
        if key not in node_outputs:
            raise _NotReady
        outputs = jax.tree_util.tree_leaves(
            node_outputs[key], is_leaf=lambda x: isinstance(x, KerasTensor)
        )
        if not 0 <= tensor_index < len(outputs):
            raise ValueError(
                f"A node refers to output {tensor_index} of layer '{layer_name}', "
                f"which has {len(outputs)} output(s)."
            )
        return outputs[tensor_index]

    def call_node(name: str, node: Any) -> None:
        layer = created[name]
        if isinstance(node, dict):
            args = resolve(node.get("args", []))
            kwargs = resolve(node.get("kwargs", {}))
        elif isinstance(node, list):  # legacy: [[layer, node, tensor, kwargs], ...]
            tensors = [tensor_at(entry, functional_from_1=True) for entry in node]
            kwargs = (
                node[0][3] if len(node[0]) > 3 and isinstance(node[0][3], dict) else {}
            )
            args = [tensors[0] if len(tensors) == 1 else tensors]
        else:
            raise ValueError(f"Invalid node for layer '{name}': {node!r}")
        kwargs = {k: v for k, v in kwargs.items() if k != "mask" or v is not None}
        outputs = layer(*args, **kwargs)
        index = len([k for k in node_outputs if k[0] == name])
        node_outputs[(name, index)] = outputs

    while any(pending.values()):
        progress = False
        for name in order:
            while pending[name]:
                try:
                    call_node(name, pending[name][0])
                except _NotReady:
                    break
                pending[name].pop(0)
                progress = True
        if not progress:
            stuck = [name for name in order if pending[name]]
            raise ValueError(
                "Invalid Functional model configuration: the graph has loops or "
                f"nodes whose inputs never become available (layers {stuck})."
            )

    def build_structure(value: Any) -> Any:
        if _is_leaf_reference(value):
            try:
                return tensor_at(value, functional_from_1=True)
            except _NotReady:
                raise ValueError(
                    f"The model input/output {value} refers to a call that the "
                    "config never makes."
                ) from None
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
