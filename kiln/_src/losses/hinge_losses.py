"""Hinge losses (for "maximum-margin" classification), as functions and as
`Loss` classes."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.losses.loss import to_tensor
from kiln._src.losses.loss_function_wrapper import FunctionLoss


def convert_binary_labels_to_hinge(y_true: jax.Array) -> jax.Array:
    """Maps labels in {0, 1} to {-1, 1}; any other labels are kept as given.

    The choice is made on values with `where`, so it works under `jax.jit`.
    """
    is_binary = jnp.all((y_true == 0) | (y_true == 1))
    return jnp.where(is_binary, 2.0 * y_true - 1.0, y_true)


def _prepare(y_true: Any, y_pred: Any) -> tuple[jax.Array, jax.Array]:
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    return y_true, y_pred


@keras_export(["keras.losses.hinge", "keras.metrics.hinge"])
def hinge(y_true: Any, y_pred: Any) -> jax.Array:
    """Hinge loss: ``mean(maximum(1 - y_true * y_pred, 0), axis=-1)``.

    Args:
        y_true: labels in {-1, 1} (labels in {0, 1} are converted).
        y_pred: the predicted scores.

    Returns:
        The per-sample losses.

    Example:
        >>> hinge([[0.0, 1.0]], [[0.5, 2.0]])
        Array([0.75], dtype=float32)
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = convert_binary_labels_to_hinge(y_true)
    return jnp.mean(jnp.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


@keras_export(["keras.losses.squared_hinge", "keras.metrics.squared_hinge"])
def squared_hinge(y_true: Any, y_pred: Any) -> jax.Array:
    """Squared hinge loss: ``mean(square(maximum(1 - y_true * y_pred, 0)))``.

    Args:
        y_true: labels in {-1, 1} (labels in {0, 1} are converted).
        y_pred: the predicted scores.

    Returns:
        The per-sample losses.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = convert_binary_labels_to_hinge(y_true)
    return jnp.mean(jnp.square(jnp.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


@keras_export(["keras.losses.categorical_hinge", "keras.metrics.categorical_hinge"])
def categorical_hinge(y_true: Any, y_pred: Any) -> jax.Array:
    """Categorical hinge loss: ``maximum(neg - pos + 1, 0)``, where
    ``pos = sum(y_true * y_pred)`` and ``neg = max((1 - y_true) * y_pred)``.

    Args:
        y_true: one-hot labels (in {0, 1} or {-1, 1}).
        y_pred: the predicted scores.

    Returns:
        The per-sample losses.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = jnp.sum(y_true * y_pred, axis=-1)
    neg = jnp.max((1.0 - y_true) * y_pred, axis=-1)
    return jnp.maximum(neg - pos + 1.0, jnp.zeros((), dtype=y_pred.dtype))


@keras_export("keras.losses.Hinge")
class Hinge(FunctionLoss):
    """Hinge loss: ``loss = maximum(1 - y_true * y_pred, 0)``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "hinge",
        dtype: Any = None,
    ):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)


@keras_export("keras.losses.SquaredHinge")
class SquaredHinge(FunctionLoss):
    """Squared hinge loss: ``loss = square(maximum(1 - y_true * y_pred, 0))``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "squared_hinge",
        dtype: Any = None,
    ):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)


@keras_export("keras.losses.CategoricalHinge")
class CategoricalHinge(FunctionLoss):
    """Categorical hinge loss: ``loss = maximum(neg - pos + 1, 0)``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_hinge",
        dtype: Any = None,
    ):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)
