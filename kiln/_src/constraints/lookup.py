"""`serialize`, `deserialize` and `get` for constraints."""

from __future__ import annotations

import inspect
from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.constraints.constraints import (
    Constraint,
    MaxNorm,
    MinMaxNorm,
    NonNeg,
    UnitNorm,
)
from kiln._src.saving import object_registration, serialization_lib
from kiln._src.utils.naming import to_snake_case

ALL_OBJECTS = (Constraint, MaxNorm, MinMaxNorm, NonNeg, UnitNorm)

# The class names and their snake_case forms, as Keras accepts them.
ALL_OBJECTS_DICT: dict[str, type] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})


def _unknown(identifier: Any) -> ValueError:
    names = sorted(ALL_OBJECTS_DICT)
    return ValueError(
        f"Could not interpret constraint identifier: {identifier!r}. Expected "
        f"None, a constraint name (one of {names}), a config dict, or a "
        f"`Constraint` instance or callable. Received: identifier={identifier!r}"
    )


@keras_export("keras.constraints.serialize")
def serialize(constraint: Any) -> Any:
    """Returns the config envelope of a constraint (JSON-ready).

    Args:
        constraint: a `Constraint` instance.

    Returns:
        A dict `{"module", "class_name", "config", "registered_name"}`.
    """
    return serialization_lib.serialize_keras_object(constraint)


@keras_export("keras.constraints.deserialize")
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a constraint from a name or from the output of `serialize`.

    Args:
        config: a config envelope, or a name such as `"non_neg"`.
        custom_objects: optional dict of extra classes by name.

    Returns:
        A constraint instance.
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


@keras_export("keras.constraints.get")
def get(identifier: Any) -> Any:
    """Returns a constraint from a name, a config, an instance or a callable.

    Args:
        identifier: None (returns None); a name such as `"max_norm"` or
            `"MaxNorm"` (built with default arguments); a config dict; a
            `Constraint` class (it is instantiated) or instance; or a callable
            `w -> projected w`.

    Returns:
        A constraint, a callable, or None.

    Example:

    >>> keras.constraints.get("non_neg")
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
