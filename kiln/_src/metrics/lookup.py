"""`get`, `serialize` and `deserialize` for metrics, with Keras's table of names."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.losses.lookup import deserialize_from_table, unknown_identifier_error
from kiln._src.metrics import accuracy_metrics as acc
from kiln._src.metrics import hinge_metrics as hinge
from kiln._src.metrics import probabilistic_metrics as prob
from kiln._src.metrics import reduction_metrics as red
from kiln._src.metrics import regression_metrics as reg
from kiln._src.metrics.metric import Metric
from kiln._src.saving import serialization_lib
from kiln._src.utils.naming import to_snake_case

ALL_OBJECTS = (
    Metric,
    red.Mean,
    red.Sum,
    red.MeanMetricWrapper,
    reg.MeanSquaredError,
    reg.RootMeanSquaredError,
    reg.MeanAbsoluteError,
    reg.MeanAbsolutePercentageError,
    reg.MeanSquaredLogarithmicError,
    reg.CosineSimilarity,
    reg.LogCoshError,
    hinge.Hinge,
    hinge.SquaredHinge,
    hinge.CategoricalHinge,
    prob.KLDivergence,
    prob.Poisson,
    prob.BinaryCrossentropy,
    prob.CategoricalCrossentropy,
    prob.SparseCategoricalCrossentropy,
    acc.Accuracy,
    acc.BinaryAccuracy,
    acc.CategoricalAccuracy,
    acc.SparseCategoricalAccuracy,
    acc.TopKCategoricalAccuracy,
    acc.SparseTopKCategoricalAccuracy,
)

# As in Keras, names resolve to metric *classes*: "accuracy" gives Accuracy(),
# "mse" gives MeanSquaredError(), "binary_crossentropy" gives the
# BinaryCrossentropy metric. (`compile` resolves "accuracy"/"acc" itself.)
ALL_OBJECTS_DICT: dict[str, Any] = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({to_snake_case(cls.__name__): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT.update(
    {
        "bce": prob.BinaryCrossentropy,
        "BCE": prob.BinaryCrossentropy,
        "mse": reg.MeanSquaredError,
        "MSE": reg.MeanSquaredError,
        "mae": reg.MeanAbsoluteError,
        "MAE": reg.MeanAbsoluteError,
        "mape": reg.MeanAbsolutePercentageError,
        "MAPE": reg.MeanAbsolutePercentageError,
        "msle": reg.MeanSquaredLogarithmicError,
        "MSLE": reg.MeanSquaredLogarithmicError,
    }
)


@keras_export("keras.metrics.serialize")
def serialize(metric: Any) -> Any:
    """Returns the config of a `Metric` instance or metric function.

    Args:
        metric: a `Metric` instance or a metric function.

    Returns:
        A JSON-ready dict (``{"module", "class_name", "config", ...}``).
    """
    return serialization_lib.serialize_keras_object(metric)


@keras_export("keras.metrics.deserialize")
def deserialize(config: Any, custom_objects: dict[str, Any] | None = None) -> Any:
    """Rebuilds a metric from the output of `serialize` (or from a name).

    Args:
        config: a metric config dict, or the name of a metric.
        custom_objects: extra classes and functions by name.

    Returns:
        A `Metric` instance or a metric function.
    """
    return deserialize_from_table(config, ALL_OBJECTS_DICT, custom_objects)


@keras_export("keras.metrics.get")
def get(identifier: Any) -> Metric | Callable[..., Any] | None:
    """Retrieves a `Metric` instance (or a metric function).

    Args:
        identifier: None, a metric name (``"mse"``, ``"accuracy"``,
            ``"BinaryAccuracy"``), a config dict, a `Metric` class, or a
            callable.

    Returns:
        The metric (classes are instantiated), or None for None.

    Example:
        >>> get("mse")
        <MeanSquaredError name=mean_squared_error>
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
        raise unknown_identifier_error("metric", identifier, list(ALL_OBJECTS_DICT))
    return obj() if inspect.isclass(obj) else obj
