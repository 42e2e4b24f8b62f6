"""`clone_model` and `model_from_json`: new models from an existing one's
architecture (fresh weights, no compile state)."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.backend.keras_tensor import KerasTensor
from kiln._src.layers.core.input_layer import Input, InputLayer
from kiln._src.layers.layer import Layer


def _default_clone(layer: Layer) -> Layer:
    return layer.__class__.from_config(layer.get_config())


@keras_export(["keras.models.clone_model"])
def clone_model(
    model: Any,
    input_tensors: Any = None,
    clone_function: Any = None,
    call_function: Any = None,
    recursive: bool = False,
    **kwargs: Any,
) -> Any:
    """Returns a copy of `model` with the same architecture and new weights.

    Args:
        model: a Sequential, Functional or subclassed model.
        input_tensors: optional `keras.Input` tensors to build the clone on.
        clone_function: ``layer -> new layer``, applied to every layer
            (default: rebuild from `get_config()`).
        call_function: ``(layer, *args, **kwargs) -> outputs``, to change how
            each cloned layer is called (Functional and Sequential only).
        recursive: also clone models nested inside the model.
    """
    from kiln._src.models.functional import Functional
    from kiln._src.models.sequential import Sequential

    if kwargs:
        raise ValueError(f"Unexpected keyword arguments: {sorted(kwargs)}")
    clone_function = clone_function or _default_clone

    def clone_layer(layer: Layer) -> Layer:
        if recursive and isinstance(layer, Sequential | Functional):
            return clone_model(
                layer,
                clone_function=clone_function,
                call_function=call_function,
                recursive=True,
            )
        return clone_function(layer)

    if isinstance(model, Sequential):
        return _clone_sequential(model, input_tensors, clone_layer, call_function)
    if isinstance(model, Functional):
        return _clone_functional(model, input_tensors, clone_layer, call_function)
    if clone_function is not _default_clone or call_function is not None:
        raise ValueError(
            "clone_function and call_function only apply to Sequential and "
            "Functional models. For a subclassed model, clone_model rebuilds it "
            f"from its config. Received a {type(model).__name__}."
        )
    if input_tensors is not None:
        raise ValueError(
            "input_tensors only apply to Sequential and Functional models."
        )
    return model.__class__.from_config(model.get_config())


def _clone_sequential(
    model: Any, input_tensors: Any, clone_layer: Any, call_function: Any
) -> Any:
    from kiln._src.models.functional import Functional
    from kiln._src.models.sequential import Sequential

    layers = [clone_layer(layer) for layer in model.layers]
    if input_tensors is None and call_function is None:
        first = model._layers_list[0] if model._layers_list else None
        entries: list[Any] = []
        if isinstance(first, InputLayer):
            entries.append(
                Input(batch_shape=first.batch_shape, dtype=first.dtype, name=first.name)
            )
        return Sequential(entries + layers, name=model.name, trainable=model.trainable)
    if input_tensors is None:
        first = model._layers_list[0]
        if not isinstance(first, InputLayer):
            raise ValueError(
                "Build the Sequential model before cloning it with call_function."
            )
        input_tensors = Input(
            batch_shape=first.batch_shape, dtype=first.dtype, name=first.name
        )
    inputs = (
        input_tensors[0] if isinstance(input_tensors, list | tuple) else input_tensors
    )
    x = inputs
    for layer in layers:
        x = call_function(layer, x) if call_function else layer(x)
    return Functional(inputs, x, name=model.name)


def _clone_functional(
    model: Any, input_tensors: Any, clone_layer: Any, call_function: Any
) -> Any:
    from kiln._src.models.functional import Functional, _map_structure

    if input_tensors is None:
        new_inputs = [
            Input(batch_shape=t.shape, dtype=t.dtype, name=t._keras_history[0].name)
            for t in model._inputs
        ]
    else:
        new_inputs = jax.tree_util.tree_leaves(
            input_tensors, is_leaf=lambda x: isinstance(x, KerasTensor)
        )
        if len(new_inputs) != len(model._inputs):
            raise ValueError(
                f"input_tensors has {len(new_inputs)} tensors, but the model has "
                f"{len(model._inputs)} inputs."
            )
    values = {id(old): new for old, new in zip(model._inputs, new_inputs)}
    clones: dict[int, Any] = {}
    for depth in sorted(model._nodes_by_depth, reverse=True):
        for node in model._nodes_by_depth[depth]:
            if node.is_input:
                continue
            operation = node.operation
            if id(operation) not in clones:
                clones[id(operation)] = (
                    clone_layer(operation)
                    if isinstance(operation, Layer)
                    else operation
                )
            new_operation = clones[id(operation)]
            args, kwargs = jax.tree_util.tree_map(
                lambda x: values[id(x)] if isinstance(x, KerasTensor) else x,
                (node.arguments_args, node.arguments_kwargs),
                is_leaf=lambda x: isinstance(x, KerasTensor),
            )
            if call_function is not None and isinstance(new_operation, Layer):
                outputs = call_function(new_operation, *args, **kwargs)
            else:
                outputs = new_operation(*args, **kwargs)
            for old, new in zip(
                node.output_tensors,
                jax.tree_util.tree_leaves(
                    outputs, is_leaf=lambda x: isinstance(x, KerasTensor)
                ),
            ):
                values[id(old)] = new
    position = {id(t): i for i, t in enumerate(model._inputs)}
    inputs_struct = _map_structure(
        lambda t: new_inputs[position[id(t)]], model._inputs_struct
    )
    outputs_struct = _map_structure(lambda t: values[id(t)], model._outputs_struct)
    return Functional(inputs_struct, outputs_struct, name=model.name)


@keras_export(["keras.models.model_from_json"])
def model_from_json(
    json_string: str, custom_objects: dict[str, Any] | None = None
) -> Any:
    """Rebuilds a (not compiled) model from `model.to_json()`'s output.

    The JSON goes through the config stage of `load_model`, in the same order:
    the bounded parse, the field, graph and name checks, then the rebuild. A
    string that is not a model's JSON raises `InvalidFileError` (a
    `ValueError`; an unknown class or function raises its subclass
    `UnknownObjectError`, also a `TypeError`), never another error.
    """
    from kiln._src.saving import saving_lib

    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise TypeError(
            "`custom_objects` must be a dict {name: class_or_function}. "
            f"Received: custom_objects={custom_objects!r}"
        )
    if isinstance(json_string, str):
        json_string = json_string.encode("utf-8", "surrogatepass")
    elif isinstance(json_string, bytearray | memoryview):
        json_string = bytes(json_string)
    if not isinstance(json_string, bytes):
        raise TypeError(
            "model_from_json() expects the string returned by model.to_json(). "
            f"Received: json_string of type {type(json_string).__name__}"
        )
    where = "model_from_json()"
    config = saving_lib.parse_model_config(json_string, where)
    # A JSON model is never compiled (Keras's `to_json` output has no
    # compile_config; one added by hand is ignored, not run).
    config = {k: v for k, v in config.items() if k != "compile_config"}
    saving_lib.check_model_config(config, where, custom_objects, safe_mode=True)
    # As in Keras, `shared_object_id` marks are a file's, not JSON's.
    return saving_lib.build_model(
        config, where, custom_objects, safe_mode=True, share_objects=False
    )
