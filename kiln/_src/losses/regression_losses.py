"""Regression losses: squared, absolute, percentage, logarithmic, Huber, log-cosh
and cosine-similarity errors, as functions and as `Loss` classes."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config
from kiln._src.losses.loss import squeeze_or_expand_to_same_rank, to_tensor
from kiln._src.losses.loss_function_wrapper import FunctionLoss


def _prepare(y_true: Any, y_pred: Any) -> tuple[jax.Array, jax.Array]:
    """Both as arrays of `y_pred`'s dtype, with aligned ranks."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    return squeeze_or_expand_to_same_rank(y_true, y_pred)


@keras_export(
    [
        "keras.losses.mean_squared_error",
        "keras.metrics.mean_squared_error",
        "keras.losses.mse",
        "keras.losses.MSE",
        "keras.metrics.mse",
        "keras.metrics.MSE",
    ]
)
def mean_squared_error(y_true: Any, y_pred: Any) -> jax.Array:
    """Mean squared error over the last axis.

    Formula: ``loss = mean(square(y_true - y_pred), axis=-1)``.

    Args:
        y_true: the targets, shape ``(batch, d0, ..., dN)``.
        y_pred: the predictions, same shape.

    Returns:
        The per-sample losses, shape ``(batch, d0, ..., dN-1)``.

    Example:
        >>> mean_squared_error([[0.0, 1.0]], [[1.0, 1.0]])
        Array([0.5], dtype=float32)
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.square(y_true - y_pred), axis=-1)


@keras_export(
    [
        "keras.losses.mean_absolute_error",
        "keras.metrics.mean_absolute_error",
        "keras.losses.mae",
        "keras.losses.MAE",
        "keras.metrics.mae",
        "keras.metrics.MAE",
    ]
)
def mean_absolute_error(y_true: Any, y_pred: Any) -> jax.Array:
    """Mean absolute error over the last axis.

    Formula: ``loss = mean(abs(y_true - y_pred), axis=-1)``.

    Args:
        y_true: the targets, shape ``(batch, d0, ..., dN)``.
        y_pred: the predictions, same shape.

    Returns:
        The per-sample losses, shape ``(batch, d0, ..., dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return jnp.mean(jnp.abs(y_true - y_pred), axis=-1)


@keras_export(
    [
        "keras.losses.mean_absolute_percentage_error",
        "keras.metrics.mean_absolute_percentage_error",
        "keras.losses.mape",
        "keras.losses.MAPE",
        "keras.metrics.mape",
        "keras.metrics.MAPE",
    ]
)
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> jax.Array:
    """Mean absolute percentage error over the last axis.

    Formula: ``loss = 100 * mean(abs((y_true - y_pred) / y_true), axis=-1)``,
    dividing by ``maximum(abs(y_true), epsilon())`` so zeros are safe.

    Args:
        y_true: the targets, shape ``(batch, d0, ..., dN)``.
        y_pred: the predictions, same shape.

    Returns:
        The per-sample losses, shape ``(batch, d0, ..., dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    epsilon = jnp.asarray(config.epsilon(), dtype=y_pred.dtype)
    diff = jnp.abs((y_true - y_pred) / jnp.maximum(jnp.abs(y_true), epsilon))
    return 100.0 * jnp.mean(diff, axis=-1)


@keras_export(
    [
        "keras.losses.mean_squared_logarithmic_error",
        "keras.metrics.mean_squared_logarithmic_error",
        "keras.losses.msle",
        "keras.losses.MSLE",
        "keras.metrics.msle",
        "keras.metrics.MSLE",
    ]
)
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> jax.Array:
    """Mean squared logarithmic error over the last axis.

    Formula: ``loss = mean(square(log(y_true + 1) - log(y_pred + 1)), axis=-1)``,
    where values below ``epsilon()`` are first raised to ``epsilon()``.

    Args:
        y_true: the targets, shape ``(batch, d0, ..., dN)``.
        y_pred: the predictions, same shape.

    Returns:
        The per-sample losses, shape ``(batch, d0, ..., dN-1)``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    epsilon = jnp.asarray(config.epsilon(), dtype=config.floatx())
    first_log = jnp.log(jnp.maximum(y_pred, epsilon) + 1.0)
    second_log = jnp.log(jnp.maximum(y_true, epsilon) + 1.0)
    return jnp.mean(jnp.square(first_log - second_log), axis=-1)


@keras_export(["keras.losses.huber", "keras.metrics.huber"])
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> jax.Array:
    """Huber loss: quadratic for small errors, linear for large ones.

    Formula: for ``x = y_pred - y_true``, ``0.5 * x**2`` where
    ``abs(x) <= delta``, else ``delta * abs(x) - 0.5 * delta**2``; then the
    mean over the last axis.

    Args:
        y_true: the targets.
        y_pred: the predictions.
        delta: where the loss changes from quadratic to linear.

    Returns:
        The per-sample losses.

    Example:
        >>> huber([[0.0, 1.0]], [[3.0, 1.5]])
        Array([1.3125], dtype=float32)
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    delta = jnp.asarray(delta, dtype=y_pred.dtype)
    error = y_pred - y_true
    abs_error = jnp.abs(error)
    half = jnp.asarray(0.5, dtype=abs_error.dtype)
    per_element = jnp.where(
        abs_error <= delta,
        half * jnp.square(error),
        delta * abs_error - half * jnp.square(delta),
    )
    return jnp.mean(per_element, axis=-1)


@keras_export(
    [
        "keras.losses.log_cosh",
        "keras.metrics.log_cosh",
        "keras.losses.logcosh",
        "keras.metrics.logcosh",
    ]
)
def log_cosh(y_true: Any, y_pred: Any) -> jax.Array:
    """Logarithm of the hyperbolic cosine of the error, averaged on the last axis.

    Formula: ``loss = mean(log(cosh(y_pred - y_true)), axis=-1)``, computed
    stably as ``x + softplus(-2x) - log(2)``.

    Args:
        y_true: the targets.
        y_pred: the predictions.

    Returns:
        The per-sample losses.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    log2 = jnp.asarray(jnp.log(2.0), dtype=y_pred.dtype)
    error = y_pred - y_true
    return jnp.mean(error + jax.nn.softplus(error * -2.0) - log2, axis=-1)


def l2_normalize(x: jax.Array, axis: int = -1) -> jax.Array:
    """``x / norm(x)``, with the norm bounded below by ``epsilon()``."""
    if x.ndim == 0:
        x = jnp.expand_dims(x, 0)
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        # (Keras fails on integer inputs here; kiln computes in floatx.)
        x = x.astype(config.floatx())
    square_sum = jnp.sum(jnp.square(x), axis=axis, keepdims=True)
    inv_norm = jnp.minimum(jax.lax.rsqrt(square_sum), 1.0 / config.epsilon())
    return x * inv_norm


@keras_export(["keras.losses.cosine_similarity"])
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> jax.Array:
    """The negated cosine similarity between targets and predictions.

    Formula: ``loss = -sum(l2_normalize(y_true) * l2_normalize(y_pred))``
    along `axis`: -1 means same direction, 0 orthogonal (or a zero vector).

    Args:
        y_true: the targets.
        y_pred: the predictions.
        axis: the axis along which similarity is computed.

    Returns:
        The per-sample losses.

    Example:
        >>> cosine_similarity([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
        Array([-0.        , -0.99999994], dtype=float32)
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return -jnp.sum(l2_normalize(y_true, axis) * l2_normalize(y_pred, axis), axis=axis)


@keras_export("keras.losses.MeanSquaredError")
class MeanSquaredError(FunctionLoss):
    """Mean of the squared errors: ``loss = mean(square(y_true - y_pred))``.

    Args:
        reduction: see `Loss` (default ``"sum_over_batch_size"``).
        name: the loss's name.
        dtype: the compute dtype.

    Example:
        >>> MeanSquaredError()([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])
        Array(0.5, dtype=float32)
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_error",
        dtype: Any = None,
    ):
        super().__init__(
            mean_squared_error, name=name, reduction=reduction, dtype=dtype
        )


@keras_export("keras.losses.MeanAbsoluteError")
class MeanAbsoluteError(FunctionLoss):
    """Mean of the absolute errors: ``loss = mean(abs(y_true - y_pred))``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_error",
        dtype: Any = None,
    ):
        super().__init__(
            mean_absolute_error, name=name, reduction=reduction, dtype=dtype
        )


@keras_export("keras.losses.MeanAbsolutePercentageError")
class MeanAbsolutePercentageError(FunctionLoss):
    """``loss = 100 * mean(abs((y_true - y_pred) / y_true))``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_absolute_percentage_error",
        dtype: Any = None,
    ):
        super().__init__(
            mean_absolute_percentage_error, name=name, reduction=reduction, dtype=dtype
        )


@keras_export("keras.losses.MeanSquaredLogarithmicError")
class MeanSquaredLogarithmicError(FunctionLoss):
    """``loss = mean(square(log(y_true + 1) - log(y_pred + 1)))``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "mean_squared_logarithmic_error",
        dtype: Any = None,
    ):
        super().__init__(
            mean_squared_logarithmic_error, name=name, reduction=reduction, dtype=dtype
        )


@keras_export("keras.losses.CosineSimilarity")
class CosineSimilarity(FunctionLoss):
    """The negated cosine similarity between targets and predictions.

    Note that, as in Keras, `axis` is not part of the config.

    Args:
        axis: the axis along which similarity is computed.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "cosine_similarity",
        dtype: Any = None,
    ):
        super().__init__(
            cosine_similarity, name=name, reduction=reduction, dtype=dtype, axis=axis
        )


@keras_export("keras.losses.Huber")
class Huber(FunctionLoss):
    """The Huber loss: quadratic below `delta`, linear above.

    Note that, as in Keras, `delta` is not part of the config.

    Args:
        delta: where the loss changes from quadratic to linear.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        delta: float = 1.0,
        reduction: str | None = "sum_over_batch_size",
        name: str = "huber_loss",
        dtype: Any = None,
    ):
        super().__init__(
            huber, name=name, reduction=reduction, dtype=dtype, delta=delta
        )


@keras_export("keras.losses.LogCosh")
class LogCosh(FunctionLoss):
    """``loss = mean(log(cosh(y_pred - y_true)))``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "log_cosh",
        dtype: Any = None,
    ):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)
