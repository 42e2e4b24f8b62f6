"""Regression metrics: running means of squared, absolute, percentage,
logarithmic and log-cosh errors, their root, and cosine similarity."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.losses.loss import squeeze_or_expand_to_same_rank, to_tensor
from kiln._src.losses.regression_losses import (
    l2_normalize,
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from kiln._src.metrics.reduction_metrics import Mean, MeanMetricWrapper


class _LossMean(MeanMetricWrapper):
    """The running mean of a built-in function; config: name and dtype."""

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.MeanSquaredError")
class MeanSquaredError(_LossMean):
    """The running mean of ``mean(square(y_true - y_pred), axis=-1)``.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.

    Example:
        >>> MeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        Array(0.25, dtype=float32)
    """

    def __init__(self, name: str = "mean_squared_error", dtype: Any = None):
        super().__init__(fn=mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"


@keras_export("keras.metrics.MeanAbsoluteError")
class MeanAbsoluteError(_LossMean):
    """The running mean of ``mean(abs(y_true - y_pred), axis=-1)``.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean_absolute_error", dtype: Any = None):
        super().__init__(mean_absolute_error, name, dtype=dtype)
        self._direction = "down"


@keras_export("keras.metrics.MeanAbsolutePercentageError")
class MeanAbsolutePercentageError(_LossMean):
    """The running mean of the absolute percentage error.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean_absolute_percentage_error", dtype: Any = None):
        super().__init__(mean_absolute_percentage_error, name, dtype=dtype)
        self._direction = "down"


@keras_export("keras.metrics.MeanSquaredLogarithmicError")
class MeanSquaredLogarithmicError(_LossMean):
    """The running mean of the squared logarithmic error.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "mean_squared_logarithmic_error", dtype: Any = None):
        super().__init__(mean_squared_logarithmic_error, name, dtype=dtype)
        self._direction = "down"


@keras_export("keras.metrics.LogCoshError")
class LogCoshError(_LossMean):
    """The running mean of ``log(cosh(y_pred - y_true))``.

    Args:
        name: the metric's name (Keras's default is ``"logcosh"``).
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "logcosh", dtype: Any = None):
        super().__init__(log_cosh, name, dtype=dtype)
        self._direction = "down"


def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> jax.Array:
    """The (positive) cosine similarity of targets and predictions on `axis`."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return jnp.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


@keras_export("keras.metrics.CosineSimilarity")
class CosineSimilarity(_LossMean):
    """The running mean of the cosine similarity of targets and predictions.

    As in Keras, `axis` is not part of the config.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        axis: the axis along which similarity is computed.
    """

    def __init__(
        self, name: str = "cosine_similarity", dtype: Any = None, axis: int = -1
    ):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)
        self._direction = "up"


@keras_export("keras.metrics.RootMeanSquaredError")
class RootMeanSquaredError(Mean):
    """The square root of the running mean of squared errors.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.

    Example:
        >>> RootMeanSquaredError()([[0, 1], [0, 0]], [[1, 1], [0, 0]])
        Array(0.5, dtype=float32)
    """

    def __init__(self, name: str = "root_mean_squared_error", dtype: Any = None):
        super().__init__(name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_true = to_tensor(y_true, self.dtype)
        y_pred = to_tensor(y_pred, self.dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        super().update_state(jnp.square(y_pred - y_true), sample_weight=sample_weight)

    def result(self) -> jax.Array:
        return jnp.sqrt(super().result())
