"""Accuracy metrics: exact, binary, categorical, sparse categorical and top-k,
as per-sample functions and as running-mean `Metric` classes."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config
from kiln._src.losses.loss import squeeze_or_expand_to_same_rank, to_tensor
from kiln._src.metrics.reduction_metrics import MeanMetricWrapper


def _matches(a: jax.Array, b: jax.Array) -> jax.Array:
    return (a == b).astype(config.floatx())


@keras_export("keras.metrics.accuracy")
def accuracy(y_true: Any, y_pred: Any) -> jax.Array:
    """1.0 where `y_pred` equals `y_true` exactly, else 0.0.

    Args:
        y_true: the targets.
        y_pred: the predictions (compared as they are: no thresholding).

    Returns:
        The per-element matches, as floats.

    Example:
        >>> accuracy([1, 2, 3, 4], [0, 2, 3, 4])
        Array([0., 1., 1., 1.], dtype=float32)
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return _matches(y_true, y_pred)


@keras_export("keras.metrics.binary_accuracy")
def binary_accuracy(y_true: Any, y_pred: Any, threshold: float = 0.5) -> jax.Array:
    """1.0 where ``y_pred > threshold`` agrees with the binary `y_true`.

    Args:
        y_true: binary targets.
        y_pred: predicted probabilities (or scores).
        threshold: predictions above it count as 1.

    Returns:
        The per-element matches, as floats.

    Example:
        >>> binary_accuracy([1, 1, 0, 0], [0.98, 1, 0, 0.6])
        Array([1., 1., 1., 0.], dtype=float32)
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > threshold).astype(y_true.dtype)
    return _matches(y_true, y_pred)


@keras_export("keras.metrics.categorical_accuracy")
def categorical_accuracy(y_true: Any, y_pred: Any) -> jax.Array:
    """1.0 where the arg-max of `y_pred` is the arg-max of one-hot `y_true`.

    Args:
        y_true: one-hot targets, ``(batch, ..., num_classes)``.
        y_pred: predicted probabilities or logits, same shape.

    Returns:
        The per-sample matches, as floats.

    Example:
        >>> categorical_accuracy([[0, 0, 1], [0, 1, 0]],
        ...                      [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
        Array([0., 1.], dtype=float32)
    """
    y_true = jnp.argmax(to_tensor(y_true), axis=-1)
    y_pred = to_tensor(y_pred)
    y_true = y_true.astype(y_pred.dtype)
    true_shape = y_true.shape
    # `y_true` given with one more axis than a one-hot (e.g. ``(batch, 1, C)``
    # against ``(batch, C)``): compare on the squeezed labels, keep its shape.
    reshape = y_true.ndim == y_pred.ndim
    if reshape:
        y_true = jnp.squeeze(y_true, -1)
    y_pred = jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = _matches(y_true, y_pred)
    return jnp.reshape(matches, true_shape) if reshape else matches


@keras_export("keras.metrics.sparse_categorical_accuracy")
def sparse_categorical_accuracy(y_true: Any, y_pred: Any) -> jax.Array:
    """1.0 where the arg-max of `y_pred` equals the integer label `y_true`.

    Args:
        y_true: integer class ids, ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: predicted probabilities or logits, ``(batch, ..., classes)``.

    Returns:
        The per-sample matches, as floats.

    Example:
        >>> sparse_categorical_accuracy([[2], [1]], [[0.1, 0.6, 0.3],
        ...                                          [0.05, 0.95, 0]])
        Array([0., 1.], dtype=float32)
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    true_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = jnp.squeeze(y_true, -1)
    y_pred = jnp.argmax(y_pred, axis=-1).astype(y_true.dtype)
    matches = _matches(y_true, y_pred)
    if reshape:
        matches = jnp.reshape(matches, true_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = jnp.squeeze(matches, -1)
    return matches


def in_top_k(targets: jax.Array, predictions: jax.Array, k: int) -> jax.Array:
    """Whether each target's score ranks within the top `k` of its row.

    Ties count in the target's favour; a NaN score never ranks.
    """
    at_label = jnp.take_along_axis(predictions, targets[..., None], axis=-1)
    at_label = jnp.where(jnp.isnan(at_label), -jnp.inf, at_label)
    rank = 1 + jnp.sum(predictions > at_label, axis=-1)
    return rank <= k


def _flatten_for_top_k(
    y_true: jax.Array, y_pred: jax.Array
) -> tuple[jax.Array, jax.Array, tuple[int, ...] | None]:
    """Rows of scores and a flat label vector; the label shape to restore."""
    if y_pred.ndim > 2:
        y_pred = jnp.reshape(y_pred, (-1, y_pred.shape[-1]))
    if y_true.ndim > 1:
        return jnp.reshape(y_true, (-1,)), y_pred, y_true.shape
    return y_true, y_pred, None


@keras_export("keras.metrics.top_k_categorical_accuracy")
def top_k_categorical_accuracy(y_true: Any, y_pred: Any, k: int = 5) -> jax.Array:
    """1.0 where the one-hot target's class is among the `k` top predictions.

    Args:
        y_true: one-hot targets, ``(batch, ..., num_classes)``.
        y_pred: predicted scores, same shape.
        k: how many top predictions to look at.

    Returns:
        The per-sample matches, as floats.

    Example:
        >>> top_k_categorical_accuracy([[0, 0, 1], [0, 1, 0]],
        ...                            [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], k=1)
        Array([0., 1.], dtype=float32)
    """
    y_pred = to_tensor(y_pred)
    y_true = jnp.argmax(to_tensor(y_true, y_pred.dtype), axis=-1)
    y_true, y_pred, true_shape = _flatten_for_top_k(y_true, y_pred)
    matches = in_top_k(y_true.astype("int32"), y_pred, k).astype(config.floatx())
    return matches if true_shape is None else jnp.reshape(matches, true_shape)


@keras_export("keras.metrics.sparse_top_k_categorical_accuracy")
def sparse_top_k_categorical_accuracy(
    y_true: Any, y_pred: Any, k: int = 5, from_sorted_ids: bool = False
) -> jax.Array:
    """1.0 where the integer target is among the `k` top predictions.

    Args:
        y_true: integer class ids (or ids), ``(batch,)``.
        y_pred: scores ``(batch, num_classes)``; or, with `from_sorted_ids`,
            the ids of the top categories from best to worst ``(batch, N)``,
            ``N >= k``.
        k: how many top predictions to look at.
        from_sorted_ids: whether `y_pred` holds sorted ids rather than scores.

    Returns:
        The per-sample matches, as floats.
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype if from_sorted_ids else "int32")
    y_true, y_pred, true_shape = _flatten_for_top_k(y_true, y_pred)
    if from_sorted_ids:
        # Counts a repeated id once.
        matches = jnp.any(y_true[:, None] == y_pred[:, :k], axis=1)
    else:
        matches = in_top_k(y_true, y_pred, k)
    matches = matches.astype(config.floatx())
    return matches if true_shape is None else jnp.reshape(matches, true_shape)


@keras_export("keras.metrics.Accuracy")
class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly (a weighted running mean).

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.

    Example:
        >>> Accuracy()([[1], [2], [3], [4]], [[0], [2], [3], [4]])
        Array(0.75, dtype=float32)
    """

    def __init__(self, name: str = "accuracy", dtype: Any = None):
        super().__init__(fn=accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.BinaryAccuracy")
class BinaryAccuracy(MeanMetricWrapper):
    """How often thresholded predictions match binary labels.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        threshold: predictions above it count as 1.

    Example:
        >>> BinaryAccuracy()([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
        Array(0.75, dtype=float32)
    """

    def __init__(
        self, name: str = "binary_accuracy", dtype: Any = None, threshold: float = 0.5
    ):
        super().__init__(
            fn=binary_accuracy, name=name, dtype=dtype, threshold=threshold
        )
        self.threshold = threshold
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "threshold": self.threshold}


@keras_export("keras.metrics.CategoricalAccuracy")
class CategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of predictions matches one-hot labels.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "categorical_accuracy", dtype: Any = None):
        super().__init__(fn=categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.SparseCategoricalAccuracy")
class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the arg-max of predictions matches integer labels.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "sparse_categorical_accuracy", dtype: Any = None):
        super().__init__(fn=sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.TopKCategoricalAccuracy")
class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often one-hot targets are among the `k` top predictions.

    Args:
        k: how many top predictions to look at.
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(
        self, k: int = 5, name: str = "top_k_categorical_accuracy", dtype: Any = None
    ):
        super().__init__(fn=top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype, "k": self.k}


@keras_export("keras.metrics.SparseTopKCategoricalAccuracy")
class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often integer targets are among the `k` top predictions.

    Args:
        k: how many top predictions to look at.
        name: the metric's name.
        dtype: the dtype of the state and result.
        from_sorted_ids: whether `y_pred` holds the ids of the top categories,
            best first, rather than scores for every category.
    """

    def __init__(
        self,
        k: int = 5,
        name: str = "sparse_top_k_categorical_accuracy",
        dtype: Any = None,
        from_sorted_ids: bool = False,
    ):
        super().__init__(
            fn=sparse_top_k_categorical_accuracy,
            name=name,
            dtype=dtype,
            k=k,
            from_sorted_ids=from_sorted_ids,
        )
        self.k = k
        self.from_sorted_ids = from_sorted_ids
        self._direction = "up"

    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        # Keras writes the key only when it is set.
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
