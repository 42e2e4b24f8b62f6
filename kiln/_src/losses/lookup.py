"""`get`, `serialize` and `deserialize` for losses, with Keras's table of names."""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.losses import hinge_losses as hinge
from kiln._src.losses import probabilistic_losses as prob
from kiln._src.losses import regression_losses as reg
from kiln._src.losses.loss import Loss
from kiln._src.losses.loss_function_wrapper import LossFunctionWrapper
from kiln._src.saving import serialization_lib

ALL_OBJECTS = (
    Loss,
    LossFunctionWrapper,
    prob.KLDivergence,
    prob.Poisson,
    prob.BinaryCrossentropy,
    prob.CategoricalCrossentropy,
    prob.SparseCategoricalCrossentropy,
    reg.MeanSquaredError,
    reg.MeanAbsoluteError,
    reg.MeanAbsolutePercentageError,
    reg.MeanSquaredLogarithmicError,
    reg.CosineSimilarity,
    reg.LogCosh,
    reg.Huber,
    hinge.Hinge,
    hinge.SquaredHinge,
    hinge.CategoricalHinge,
    prob.kl_divergence,
    prob.poisson,
    prob.binary_crossentropy,
    prob.categorical_crossentropy,
    prob.sparse_categorical_crossentropy,
    reg.mean_squared_error,
    reg.mean_absolute_error,
    reg.mean_absolute_percentage_error,
    reg.mean_squared_logarithmic_error,
    reg.cosine_similarity,
    reg.log_cosh,
    reg.huber,
    hinge.hinge,
    hinge.squared_hinge,
    hinge.categorical_hinge,
)

# The names `get` accepts: every class and function name, plus Keras's short
# aliases (Keras 3 accepts no others: "logcosh" and "huber_loss" are refused).
ALL_OBJECTS_DICT: dict[str, Any] = {obj.__name__: obj for obj in ALL_OBJECTS}
ALL_OBJECTS_DICT.update(
    {
        "bce": prob.binary_crossentropy,
        "BCE": prob.binary_crossentropy,
        "kld": prob.kl_divergence,
        "KLD": prob.kl_divergence,
        "mae": reg.mean_absolute_error,
        "MAE": reg.mean_absolute_error,
        "mse": reg.mean_squared_error,
        "MSE": reg.mean_squared_error,
        "mape": reg.mean_absolute_percentage_error,
        "MAPE": reg.mean_absolute_percentage_error,
        "msle": reg.mean_squared_logarithmic_error,
        "MSLE": reg.mean_squared_logarithmic_error,
    }
)


def unknown_identifier_error(
    kind: str, identifier: Any, names: list[str]
) -> ValueError:
    """A ValueError naming the bad identifier and the closest valid names."""
    close = difflib.get_close_matches(str(identifier), names, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
    return ValueError(
        f"Could not interpret {kind} identifier: {identifier!r}.{hint} Expected "
        f"None, a {kind} name (one of {sorted(names)}), a config dict with "
        f"'class_name' and 'config', or a callable. Received: identifier="
        f"{identifier!r}"
    )


def deserialize_from_table(
    config: Any, table: dict[str, Any], custom_objects: dict[str, Any] | None
) -> Any:
    """Keras's family `deserialize`: a name gives the function, or an instance
    of the class with its default config; a config dict gives the object."""
    if isinstance(config, str):
        found = (custom_objects or {}).get(config, table.get(config))
        if found is None:
            return config
        return found() if inspect.isclass(found) else found
    return serialization_lib.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=table
    )


@keras_export("keras.losses.serialize")
def serialize(loss: Any) -> Any:
    """Returns the config of a `Loss` instance or loss function.

    Args:
        loss: a `Loss` instance or a loss function.

    Returns:
        A JSON-ready dict (``{"module", "class_name", "config", ...}``).
    """
    return serialization_lib.serialize_keras_object(loss)


@keras_export("keras.losses.deserialize")
def deserialize(name: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a loss from the output of `serialize` (or from a name).

    Args:
        name: a loss config dict, or the name of a loss function or class.
        custom_objects: extra classes and functions by name.

    Returns:
        A `Loss` instance or a loss function.
    """
    return deserialize_from_table(name, ALL_OBJECTS_DICT, custom_objects)


@keras_export("keras.losses.get")
def get(identifier: Any) -> Loss | Callable[..., Any] | None:
    """Retrieves a loss function or `Loss` instance.

    Args:
        identifier: None, the name of a loss function (``"mse"``,
            ``"categorical_crossentropy"``) or class (``"Huber"``), a config
            dict, a `Loss` class, or a callable.

    Returns:
        The loss function or `Loss` instance (classes are instantiated), or
        None for None.

    Example:
        >>> get("mse").__name__
        'mean_squared_error'
        >>> type(get("CategoricalCrossentropy")).__name__
        'CategoricalCrossentropy'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = ALL_OBJECTS_DICT.get(identifier)
    else:
        obj = identifier
    if not callable(obj):
        raise unknown_identifier_error("loss", identifier, list(ALL_OBJECTS_DICT))
    return obj() if inspect.isclass(obj) else obj
