"""`serialize`, `deserialize` and `get` for regularizers."""

from __future__ import annotations

import inspect
from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.regularizers.regularizers import (
    L1,
    L1L2,
    L2,
    OrthogonalRegularizer,
    Regularizer,
)
from kiln._src.saving import object_registration, serialization_lib
from kiln._src.utils.naming import to_snake_case

ALL_OBJECTS = (Regularizer, L1, L2, L1L2, OrthogonalRegularizer)

# The class names and their snake_case forms, as Keras accepts them ("l1l2"),
# plus "l1_l2", the public Keras alias of L1L2.
ALL_OBJECTS_DICT: dict[str, type] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT["l1_l2"] = L1L2


def _unknown(identifier: Any) -> ValueError:
    names = sorted(ALL_OBJECTS_DICT)
    return ValueError(
        f"Could not interpret regularizer identifier: {identifier!r}. Expected "
        f"None, a regularizer name (one of {names}), a config dict, or a "
        f"`Regularizer` instance or callable. Received: identifier={identifier!r}"
    )


@keras_export("keras.regularizers.serialize")
def serialize(regularizer: Any) -> Any:
    """Returns the config envelope of a regularizer (JSON-ready).

    Args:
        regularizer: a `Regularizer` instance.

    Returns:
        A dict `{"module", "class_name", "config", "registered_name"}`.
    """
    return serialization_lib.serialize_keras_object(regularizer)


@keras_export("keras.regularizers.deserialize")
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a regularizer from a name or from the output of `serialize`.

    Args:
        config: a config envelope, or a name such as `"l2"`.
        custom_objects: optional dict of extra classes by name.

    Returns:
        A regularizer instance.
    """
    if isinstance(config, str):
        found = object_registration.get_registered_object(
            config, custom_objects, ALL_OBJECTS_DICT
        )
        if found is None:
            raise _unknown(config)
        return found() if inspect.isclass(found) else found
    return serialization_lib.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT
    )


@keras_export("keras.regularizers.get")
def get(identifier: Any) -> Any:
    """Returns a regularizer from a name, a config, an instance or a callable.

    Args:
        identifier: None (returns None); a name such as `"l1"`, `"L2"` or
            `"l1_l2"` (built with default factors); a config dict; a
            `Regularizer` class (it is instantiated) or instance; or a callable
            `x -> scalar`.

    Returns:
        A regularizer, a callable, or None.

    Example:

    >>> keras.regularizers.get({"class_name": "L2", "config": {"l2": 0.1}})
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict | str):
        obj = deserialize(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise _unknown(identifier)
    return obj
