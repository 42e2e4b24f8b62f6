"""`Functional`: a model defined by a graph of layers from inputs to outputs."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.layers import call_context
from kiln._src.layers.core.input_layer import InputLayer
from kiln._src.layers.layer import Layer
from kiln._src.models.graph import flatten_structure, map_graph
from kiln._src.models.model import Model
from kiln._src.ops.node import Node


def _is_kt(x: Any) -> bool:
    return isinstance(x, KerasTensor)


@keras_export("keras.src.models.functional.Functional")
class Functional(Model):
    """A model built by calling layers on `keras.Input` tensors.

    Created by ``keras.Model(inputs, outputs)``; `inputs` and `outputs` may be
    one tensor, a list, or a dict of tensors.
    """

    def __init__(
        self, inputs: Any, outputs: Any, name: str | None = None, **kwargs: Any
    ):
        trainable = kwargs.pop("trainable", True)
        super().__init__(name=name, **kwargs)
        if isinstance(inputs, dict):
            for key, tensor in inputs.items():
                if not _is_kt(tensor):
                    raise TypeError(
                        f"Model inputs must be KerasTensors (from keras.Input). "
                        f"Received: inputs[{key!r}]={tensor!r}"
                    )
        flat_inputs = flatten_structure(inputs)
        flat_outputs = flatten_structure(outputs)
        for role, flat in (("inputs", flat_inputs), ("outputs", flat_outputs)):
            if not flat:
                raise ValueError(
                    f"A Functional model needs {role}. Received: {role}=[]"
                )
            for tensor in flat:
                if not _is_kt(tensor):
                    raise TypeError(
                        f"All model {role} must be symbolic tensors (KerasTensors) "
                        f"made with keras.Input and layer calls. Received: {tensor!r}"
                    )
        self._inputs_struct = _tuple_to_list(inputs)
        self._outputs_struct = _tuple_to_list(outputs)
        self._inputs = flat_inputs
        self._outputs = flat_outputs
        operations, nodes_by_depth = map_graph(flat_inputs, flat_outputs)
        self._operations = operations
        self._nodes_by_depth = nodes_by_depth
        self._network_node_ids = {
            id(node) for nodes in nodes_by_depth.values() for node in nodes
        }
        # Masks are tracked at run time only when some tensor of the graph has
        # one (e.g. after Embedding(mask_zero=True)), so plain graphs pay nothing.
        self._uses_masks = any(
            getattr(tensor, "_keras_mask", None) is not None
            for nodes in nodes_by_depth.values()
            for node in nodes
            for tensor in node.output_tensors
        )
        # Node 0 of a Functional is its own inputs -> outputs node (Keras
        # numbers a nested model's calls from 1, and files rely on it).
        self._inbound_nodes.append(_InternalNode(self))
        self._trainable = True
        if not trainable:
            self.trainable = False
        self.built = True

    # -- structure ---------------------------------------------------------------
    @property
    def operations(self) -> list[Any]:
        return list(self._operations)

    @property
    def layers(self) -> list[Layer]:
        return [op for op in self._operations if isinstance(op, Layer)]

    def _sublayers(self) -> list[Layer]:
        return self.layers

    @property
    def inputs(self) -> Any:
        return self._inputs_struct

    @property
    def outputs(self) -> Any:
        return self._outputs_struct

    @property
    def input(self) -> Any:
        return self._inputs_struct

    @property
    def output(self) -> Any:
        return self._outputs_struct

    @property
    def input_shape(self) -> Any:
        return _map_structure(lambda t: t.shape, self._inputs_struct)

    @property
    def output_shape(self) -> Any:
        return _map_structure(lambda t: t.shape, self._outputs_struct)

    @property
    def output_shape_for_summary(self) -> Any:
        if len(self._inbound_nodes) > 1:
            return super().output_shape_for_summary
        return self.output_shape

    @property
    def input_names(self) -> list[str]:
        return [t._keras_history[0].name for t in self._inputs]

    # -- running -------------------------------------------------------------------
    def _flatten_call_inputs(self, inputs: Any) -> list[Any]:
        if isinstance(inputs, dict) and not isinstance(self._inputs_struct, dict):
            names = self.input_names
            missing = [n for n in names if n not in inputs]
            if missing:
                raise ValueError(
                    f"Model '{self.name}' was called with a dict missing the inputs "
                    f"{missing}. Expected keys: {names}. Received keys: "
                    f"{sorted(inputs)}"
                )
            return [inputs[n] for n in names]
        if isinstance(self._inputs_struct, dict):
            if not isinstance(inputs, dict):
                raise ValueError(
                    f"Model '{self.name}' expects a dict of inputs with keys "
                    f"{sorted(self._inputs_struct)}. Received: {type(inputs).__name__}"
                )
            missing = sorted(set(self._inputs_struct) - set(inputs))
            if missing:
                raise ValueError(
                    f"Model '{self.name}' is missing inputs {missing}. Expected "
                    f"keys: {sorted(self._inputs_struct)}"
                )
            return [inputs[k] for k in sorted(self._inputs_struct)]
        flat = jax.tree_util.tree_leaves(inputs, is_leaf=lambda x: hasattr(x, "shape"))
        if len(flat) != len(self._inputs):
            raise ValueError(
                f"Model '{self.name}' expects {len(self._inputs)} input(s), but it "
                f"received {len(flat)} input tensor(s)."
            )
        return flat

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        flat = self._flatten_call_inputs(inputs)
        values: dict[int, Any] = {}
        for tensor, value in zip(self._inputs, flat):
            values[id(tensor)] = _adjust_input(self.name, tensor, value)
        # Run-time masks by tensor id, tracked only for graphs that have masks.
        masks: dict[int, Any] | None = None
        if self._uses_masks or mask is not None:
            masks = {}
            if mask is not None:
                _record_masks(self._inputs, mask, masks)
        for depth in sorted(self._nodes_by_depth, reverse=True):
            for node in self._nodes_by_depth[depth]:
                if node.is_input or all(id(t) in values for t in node.output_tensors):
                    continue
                args, kwargs = jax.tree_util.tree_map(
                    lambda x: values[id(x)] if _is_kt(x) else x,
                    (node.arguments_args, node.arguments_kwargs),
                    is_leaf=_is_kt,
                )
                operation = node.operation
                if isinstance(operation, Layer) and training is not None:
                    kwargs["training"] = training
                input_mask = None
                if masks is not None and isinstance(operation, Layer) and args:
                    input_mask = _mask_structure(node.arguments_args[0], masks)
                    if (
                        input_mask is not None
                        and operation._call_has_mask_arg
                        and kwargs.get("mask") is None
                    ):
                        kwargs["mask"] = input_mask
                outputs = operation(*args, **kwargs)
                for tensor, value in zip(
                    node.output_tensors, jax.tree_util.tree_leaves(outputs)
                ):
                    values[id(tensor)] = value
                if (
                    masks is not None
                    and isinstance(operation, Layer)
                    and operation._propagates_masks()
                    and (
                        input_mask is not None
                        or type(operation).compute_mask is not Layer.compute_mask
                    )
                ):
                    output_masks = operation.compute_mask(args[0], input_mask)
                    _record_masks(node.output_tensors, output_masks, masks)
        context = call_context.get_call_context()
        if context is not None:
            # The outermost model finishes last: its outputs' masks remain.
            context.output_masks = (
                None
                if masks is None
                else _map_structure(lambda t: masks.get(id(t)), self._outputs_struct)
            )
        return _map_structure(lambda t: values[id(t)], self._outputs_struct)

    def get_config(self) -> dict[str, Any]:
        from kiln._src.models.functional_config import get_functional_config

        return get_functional_config(self)

    @classmethod
    def from_config(
        cls, config: dict[str, Any], custom_objects: Any = None
    ) -> Functional:
        from kiln._src.models.functional_config import functional_from_config

        return functional_from_config(cls, config, custom_objects)

    def get_build_config(self) -> dict[str, Any]:
        return {"input_shape": None}

    def build_from_config(self, config: dict[str, Any]) -> None:
        return None


def _mask_structure(argument: Any, masks: dict[int, Any]) -> Any:
    leaves = jax.tree_util.tree_leaves(argument, is_leaf=_is_kt)
    if not any(id(x) in masks for x in leaves if _is_kt(x)):
        return None
    return jax.tree_util.tree_map(
        lambda x: masks.get(id(x)) if _is_kt(x) else None, argument, is_leaf=_is_kt
    )


def _record_masks(
    tensors: list[KerasTensor], output_masks: Any, masks: dict[int, Any]
) -> None:
    if output_masks is None:
        return
    flat = jax.tree_util.tree_leaves(output_masks, is_leaf=lambda x: x is None)
    if len(flat) == len(tensors):
        pairs = zip(tensors, flat)
    else:
        pairs = ((tensor, flat[0]) for tensor in tensors)
    for tensor, mask in pairs:
        if mask is not None:
            masks[id(tensor)] = mask


class _InternalNode(Node):
    """The placeholder node 0 of a Functional (not part of any outer graph)."""

    def __init__(self, operation: Functional):
        self.operation = operation
        self.arguments_args = ()
        self.arguments_kwargs = {}
        self.outputs = operation._outputs_struct
        self.input_tensors = []
        self.output_tensors = []

    @property
    def parent_nodes(self) -> list[Node]:
        return []


def _adjust_input(model_name: str, tensor: KerasTensor, value: Any) -> Any:
    """Checks a model input against its `Input`, fixing a trailing axis of
    size 1 the way Keras does ((N,) data for a (None, 1) input and back)."""
    shape = getattr(value, "shape", None)
    if shape is None:
        return value
    expected = tensor.shape
    if len(shape) == len(expected) + 1 and shape[-1] == 1:
        value = value.reshape(shape[:-1])
        shape = value.shape
    elif len(shape) == len(expected) - 1 and expected[-1] == 1:
        value = value.reshape((*shape, 1))
        shape = value.shape
    if len(shape) != len(expected) or any(
        e is not None and s is not None and e != s for e, s in zip(expected, shape)
    ):
        raise ValueError(
            f"Input '{tensor.name}' of model '{model_name}' is incompatible: "
            f"expected shape={expected}, found shape={tuple(shape)}. Pass data "
            f"whose shape matches (None means any size)."
        )
    return value


def _tuple_to_list(structure: Any) -> Any:
    if isinstance(structure, tuple):
        return [_tuple_to_list(x) for x in structure]
    if isinstance(structure, list):
        return [_tuple_to_list(x) for x in structure]
    if isinstance(structure, dict):
        return {k: _tuple_to_list(v) for k, v in structure.items()}
    return structure


def _map_structure(fn: Any, structure: Any) -> Any:
    if isinstance(structure, list):
        return [_map_structure(fn, x) for x in structure]
    if isinstance(structure, dict):
        return {k: _map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


__all__ = ["Functional", "InputLayer"]
