"""`serialize`, `deserialize` and `get` for initializers."""

from __future__ import annotations

import inspect
from typing import Any

import jax
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend.dtypes import standardize_dtype
from kiln._src.backend.variable import Variable, convert_to_tensor
from kiln._src.initializers.constant_initializers import Constant, Identity, Ones, Zeros
from kiln._src.initializers.initializer import Initializer, standardize_shape
from kiln._src.initializers.random_initializers import (
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
)
from kiln._src.initializers.variance_scaling import (
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    VarianceScaling,
)
from kiln._src.saving import object_registration, serialization_lib
from kiln._src.utils.naming import to_snake_case

ALL_OBJECTS = (
    Initializer,
    Constant,
    Identity,
    Ones,
    Zeros,
    GlorotNormal,
    GlorotUniform,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
)

# Every name Keras accepts for a built-in: the class name, its snake_case form,
# and a few older aliases.
ALL_OBJECTS_DICT: dict[str, type] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update(
    {
        "IdentityInitializer": Identity,
        "OrthogonalInitializer": Orthogonal,
        "normal": RandomNormal,
        "uniform": RandomUniform,
        "one": Ones,
        "zero": Zeros,
    }
)


def _unknown(identifier: Any) -> ValueError:
    names = sorted(name for name in ALL_OBJECTS_DICT if name[0].islower())
    return ValueError(
        f"Could not interpret initializer identifier: {identifier!r}. Expected "
        f"None, an initializer name (one of {names}, or a class name such as "
        "'GlorotUniform'), a config dict, an `Initializer` instance, a callable "
        "`(shape, dtype=None) -> array`, or an array. "
        f"Received: identifier={identifier!r}"
    )


@keras_export("keras.initializers.serialize")
def serialize(initializer: Any) -> Any:
    """Returns the config envelope of an initializer (JSON-ready).

    Args:
        initializer: an `Initializer` instance.

    Returns:
        A dict `{"module", "class_name", "config", "registered_name"}`.
    """
    return serialization_lib.serialize_keras_object(initializer)


@keras_export("keras.initializers.deserialize")
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds an initializer from a name or from the output of `serialize`.

    Args:
        config: a config envelope, or a name such as `"glorot_uniform"`.
        custom_objects: optional dict of extra classes by name.

    Returns:
        An initializer instance.
    """
    if isinstance(config, str):
        if _find(config, custom_objects) is None:
            raise _unknown(config)
        config = {"class_name": config, "config": {}}
    return serialization_lib.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT
    )


def _find(name: str, custom_objects: dict[str, Any] | None = None) -> Any:
    return object_registration.get_registered_object(
        name, custom_objects, ALL_OBJECTS_DICT
    )


def _from_array(value: Any) -> Any:
    expected = tuple(np.shape(value))

    def initialize_fn(shape: Any, dtype: Any = None) -> jax.Array:
        if standardize_shape(shape) != expected:
            raise ValueError(
                "An array given as an initializer fixes the weight's shape: "
                f"expected shape={expected}. Received: shape={tuple(shape)}"
            )
        return convert_to_tensor(value).astype(standardize_dtype(dtype))

    return initialize_fn


@keras_export("keras.initializers.get")
def get(identifier: Any) -> Any:
    """Returns an initializer from a name, a config, an instance or a callable.

    Args:
        identifier: None (returns None); a name such as `"glorot_uniform"` or
            `"GlorotUniform"`; a config dict; an `Initializer` class (it is
            instantiated) or instance; a callable `(shape, dtype=None)`; or an
            array (the weight is set to it; the shape must match).

    Returns:
        An initializer, a callable, or None.

    Example:

    >>> keras.initializers.get("ones")(shape=(2,))
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict | str):
        obj = deserialize(identifier)
    elif isinstance(identifier, jax.Array | np.ndarray | np.generic | Variable):
        obj = _from_array(identifier)
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise _unknown(identifier)
    return obj
