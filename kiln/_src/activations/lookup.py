"""`serialize`, `deserialize` and `get` for activations."""

from __future__ import annotations

import types
from typing import Any

from kiln._src.activations import activations as act
from kiln._src.api_export import keras_export
from kiln._src.saving import object_registration, serialization_lib

ALL_OBJECTS = (
    act.relu,
    act.leaky_relu,
    act.relu6,
    act.softmax,
    act.celu,
    act.elu,
    act.selu,
    act.softplus,
    act.softsign,
    act.squareplus,
    act.soft_shrink,
    act.sparse_plus,
    act.silu,
    act.gelu,
    act.glu,
    act.tanh,
    act.tanh_shrink,
    act.threshold,
    act.sigmoid,
    act.sparse_sigmoid,
    act.exponential,
    act.hard_sigmoid,
    act.hard_silu,
    act.hard_tanh,
    act.hard_shrink,
    act.linear,
    act.mish,
    act.log_softmax,
    act.log_sigmoid,
    act.sparsemax,
)

ALL_OBJECTS_DICT: dict[str, Any] = {fn.__name__: fn for fn in ALL_OBJECTS}
ALL_OBJECTS_DICT["swish"] = act.silu
ALL_OBJECTS_DICT["hard_swish"] = act.hard_silu


def _unknown(identifier: Any) -> ValueError:
    return ValueError(
        f"Could not interpret activation function identifier: {identifier!r}. "
        f"Expected None, an activation name (one of {sorted(ALL_OBJECTS_DICT)}), "
        "a config dict, or a callable. "
        f"Received: identifier={identifier!r}"
    )


@keras_export("keras.activations.serialize")
def serialize(activation: Any) -> Any:
    """Returns what a config stores for an activation.

    A built-in becomes its bare name (`"relu"`); any other function becomes a
    function envelope naming it (its registered name, such as
    `"MyPackage>my_fn"`, when registered); a callable object becomes its full
    envelope.

    Args:
        activation: a function or a callable object with `get_config()`.

    Returns:
        A string or a dict.
    """
    if isinstance(activation, types.FunctionType):
        envelope = serialization_lib.serialize_keras_object(activation)
        if envelope["config"] in ALL_OBJECTS_DICT:
            # A built-in (or a function named like one, as in Keras).
            return envelope["config"]
        return envelope
    try:
        return serialization_lib.serialize_keras_object(activation)
    except TypeError as error:
        raise ValueError(
            f"Cannot serialize the activation {activation!r}: it is neither a "
            "built-in activation, a named function, nor an object with "
            "`get_config()`. Register a function with "
            "`@keras.saving.register_keras_serializable()`, or give the class a "
            f"`get_config()` method. Received: activation={activation!r}"
        ) from error


@keras_export("keras.activations.deserialize")
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Returns the activation a config names.

    Args:
        config: a name such as `"relu"`, or an envelope written by `serialize`.
        custom_objects: optional dict of extra functions or classes by name.

    Returns:
        A callable.
    """
    if isinstance(config, str):
        found = object_registration.get_registered_object(
            config, custom_objects, ALL_OBJECTS_DICT
        )
        if found is None:
            raise _unknown(config)
        return found
    return serialization_lib.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT
    )


@keras_export("keras.activations.get")
def get(identifier: Any) -> Any:
    """Returns the activation function an identifier names.

    Args:
        identifier: None (the `linear` activation), a name such as `"relu"`,
            a config (as written by `serialize`), or a callable (returned as
            is).

    Returns:
        A callable.

    Example:

    >>> keras.activations.get("softmax")
    <function softmax ...>
    """
    if identifier is None:
        return act.linear
    if isinstance(identifier, str | dict):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if not callable(obj):
        raise _unknown(identifier)
    return obj
