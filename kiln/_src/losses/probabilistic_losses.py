"""Probabilistic losses: binary, categorical and sparse categorical
cross-entropies, Kullback-Leibler divergence and Poisson, as functions and as
`Loss` classes."""

from __future__ import annotations

import warnings
from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.backend import config
from kiln._src.losses.loss import Loss, squeeze_or_expand_to_same_rank, to_tensor
from kiln._src.losses.loss_function_wrapper import FunctionLoss, LossFunctionWrapper

# -- element-wise primitives (Keras's backend numerics) -------------------------


def _clip_probabilities(output: jax.Array) -> jax.Array:
    eps = config.epsilon()
    return jnp.clip(output, eps, 1.0 - eps)


def _check_same_shape(target: jax.Array, output: jax.Array) -> None:
    if target.shape != output.shape:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape. "
            f"Received: target.shape={target.shape}, output.shape={output.shape}"
        )


def binary_crossentropy_elementwise(
    target: jax.Array, output: jax.Array, from_logits: bool = False
) -> jax.Array:
    """Per-element binary cross-entropy; probabilities are clipped to
    ``[epsilon(), 1 - epsilon()]``."""
    _check_same_shape(target, output)
    if from_logits:
        return -target * jax.nn.log_sigmoid(output) - (
            1.0 - target
        ) * jax.nn.log_sigmoid(-output)
    output = _clip_probabilities(output)
    return -(target * jnp.log(output) + (1.0 - target) * jnp.log(1.0 - output))


def _log_probabilities(output: jax.Array, from_logits: bool, axis: int) -> jax.Array:
    if from_logits:
        return jax.nn.log_softmax(output, axis=axis)
    # Probabilities are renormalized to sum to 1, then clipped, as in Keras.
    output = output / jnp.sum(output, axis=axis, keepdims=True)
    return jnp.log(_clip_probabilities(output))


def categorical_crossentropy_elementwise(
    target: jax.Array, output: jax.Array, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy of distributions `target` against `output` along `axis`."""
    _check_same_shape(target, output)
    if target.ndim < 1:
        raise ValueError(
            "Arguments `target` and `output` must be at least rank 1. "
            f"Received: target.shape={target.shape}, output.shape={output.shape}"
        )
    return -jnp.sum(target * _log_probabilities(output, from_logits, axis), axis=axis)


def sparse_categorical_crossentropy_elementwise(
    target: jax.Array, output: jax.Array, from_logits: bool = False, axis: int = -1
) -> jax.Array:
    """Cross-entropy of integer class ids `target` against `output`."""
    target = jnp.asarray(target, dtype="int32")
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = jnp.squeeze(target, axis=-1)
    if output.ndim < 1:
        raise ValueError(
            "Argument `output` must be at least rank 1. "
            f"Received: output.shape={output.shape}"
        )
    if target.shape != output.shape[:-1]:
        raise ValueError(
            "Arguments `target` and `output` must have the same shape up until "
            f"the last dimension: target.shape={target.shape}, "
            f"output.shape={output.shape}"
        )
    log_prob = _log_probabilities(output, from_logits, axis)
    one_hot = jax.nn.one_hot(target, output.shape[axis], axis=axis)
    return -jnp.sum(one_hot * log_prob, axis=axis)


# -- loss functions ------------------------------------------------------------


@keras_export(
    [
        "keras.losses.binary_crossentropy",
        "keras.metrics.binary_crossentropy",
        "keras.losses.bce",
        "keras.losses.BCE",
    ]
)
def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Binary cross-entropy, averaged over `axis`.

    Args:
        y_true: the targets (0 or 1), shape ``(batch, d0, ..., dN)``.
        y_pred: the predicted probabilities (or logits), same shape.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; targets are squeezed towards 0.5:
            ``y_true * (1 - label_smoothing) + 0.5 * label_smoothing``.
        axis: the axis the mean is taken over.

    Returns:
        The per-sample losses, shape ``(batch, d0, ..., dN-1)``.

    Example:
        >>> binary_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])
        Array([0.6931472], dtype=float32)
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return jnp.mean(
        binary_crossentropy_elementwise(y_true, y_pred, from_logits), axis=axis
    )


@keras_export(
    ["keras.losses.categorical_crossentropy", "keras.metrics.categorical_crossentropy"]
)
def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> jax.Array:
    """Categorical cross-entropy of one-hot targets against predictions.

    Args:
        y_true: one-hot targets, shape ``(batch, ..., num_classes)``.
        y_pred: predicted probabilities (or logits), same shape.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; targets become
            ``y_true * (1 - label_smoothing) + label_smoothing / num_classes``.
        axis: the class axis.

    Returns:
        The per-sample losses.

    Example:
        >>> categorical_crossentropy([[0, 1, 0]], [[0.05, 0.95, 0.0]])
        Array([0.05129331], dtype=float32)
    """
    if isinstance(axis, bool):
        raise ValueError(
            f"`axis` must be of type `int`. Received: axis={axis} of type {type(axis)}"
        )
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    if y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be "
            "(batch_size, num_classes) with num_classes > 1. Received: "
            f"y_pred.shape={y_pred.shape}. Consider using 'binary_crossentropy' "
            "if you only have 2 classes.",
            SyntaxWarning,
            stacklevel=2,
        )
    if label_smoothing:
        num_classes = jnp.asarray(y_true.shape[-1], dtype=y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    return categorical_crossentropy_elementwise(y_true, y_pred, from_logits, axis)


def _ignore_class_mask(
    y_true: jax.Array, y_pred: jax.Array, ignore_class: int | None, axis: int
) -> tuple[jax.Array, jax.Array, jax.Array | None]:
    """Drops the class dim of `y_true` if any, and zeroes ignored entries."""
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = jnp.squeeze(y_true, axis=axis)
    if ignore_class is None:
        return y_true, y_pred, None
    valid = y_true != jnp.asarray(ignore_class, dtype=y_pred.dtype)
    y_true = jnp.where(valid, y_true, 0)
    y_pred = jnp.where(jnp.expand_dims(valid, axis), y_pred, 0)
    return y_true, y_pred, valid


def sparse_categorical_crossentropy_with_mask(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> tuple[jax.Array, jax.Array | None]:
    """`sparse_categorical_crossentropy` and its validity mask (None when no
    class is ignored); reductions count only the valid entries."""
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true)
    y_true, y_pred, valid = _ignore_class_mask(y_true, y_pred, ignore_class, axis)
    result = sparse_categorical_crossentropy_elementwise(
        y_true, y_pred, from_logits, axis
    )
    if valid is None:
        return result, None
    valid = jnp.reshape(valid, result.shape)
    return jnp.where(valid, result, 0.0), valid


@keras_export(
    [
        "keras.losses.sparse_categorical_crossentropy",
        "keras.metrics.sparse_categorical_crossentropy",
    ]
)
def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> jax.Array:
    """Categorical cross-entropy of integer labels against predictions.

    Args:
        y_true: integer class ids, shape ``(batch, ...)`` or ``(batch, ..., 1)``.
        y_pred: predicted probabilities (or logits), ``(batch, ..., classes)``.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        ignore_class: a class id whose entries get a loss of 0 (and, through
            the `SparseCategoricalCrossentropy` class, do not count in the
            average).
        axis: the class axis.

    Returns:
        The per-sample losses.

    Example:
        >>> sparse_categorical_crossentropy([1, 2], [[0.05, 0.95, 0.0],
        ...                                          [0.1, 0.8, 0.1]])
        Array([0.05129331, 2.3025851 ], dtype=float32)
    """
    return sparse_categorical_crossentropy_with_mask(
        y_true, y_pred, from_logits, ignore_class, axis
    )[0]


@keras_export(
    [
        "keras.losses.kl_divergence",
        "keras.metrics.kl_divergence",
        "keras.losses.kld",
        "keras.losses.KLD",
        "keras.metrics.kld",
        "keras.metrics.KLD",
    ]
)
def kl_divergence(y_true: Any, y_pred: Any) -> jax.Array:
    """Kullback-Leibler divergence, summed over the last axis.

    Formula: ``loss = sum(y_true * log(y_true / y_pred), axis=-1)``, with both
    clipped to ``[epsilon(), 1]``.

    Args:
        y_true: the target distributions.
        y_pred: the predicted distributions.

    Returns:
        The per-sample losses.
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    y_true = jnp.clip(y_true, config.epsilon(), 1)
    y_pred = jnp.clip(y_pred, config.epsilon(), 1)
    return jnp.sum(y_true * jnp.log(y_true / y_pred), axis=-1)


@keras_export(["keras.losses.poisson", "keras.metrics.poisson"])
def poisson(y_true: Any, y_pred: Any) -> jax.Array:
    """Poisson loss, averaged over the last axis.

    Formula: ``loss = mean(y_pred - y_true * log(y_pred + epsilon()), axis=-1)``.

    Args:
        y_true: the targets.
        y_pred: the predicted rates.

    Returns:
        The per-sample losses.
    """
    y_pred = to_tensor(y_pred)
    y_true = to_tensor(y_true, y_pred.dtype)
    epsilon = jnp.asarray(config.epsilon(), dtype=y_pred.dtype)
    return jnp.mean(y_pred - y_true * jnp.log(y_pred + epsilon), axis=-1)


# -- loss classes --------------------------------------------------------------


@keras_export("keras.losses.BinaryCrossentropy")
class BinaryCrossentropy(LossFunctionWrapper):
    """Cross-entropy between binary labels and predicted probabilities.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; squeezes targets towards 0.5.
        axis: the axis the per-sample mean is taken over.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.

    Example:
        >>> BinaryCrossentropy()([[0.0, 1.0]], [[0.5, 0.5]])
        Array(0.6931472, dtype=float32)
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "binary_crossentropy",
        dtype: Any = None,
    ):
        super().__init__(
            binary_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            {
                "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing,
                "axis": self.axis,
            }
        )
        return config


@keras_export("keras.losses.CategoricalCrossentropy")
class CategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between one-hot labels and predicted distributions.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; mixes targets with the uniform
            distribution.
        axis: the class axis.
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: str | None = "sum_over_batch_size",
        name: str = "categorical_crossentropy",
        dtype: Any = None,
    ):
        super().__init__(
            categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            {
                "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing,
                "axis": self.axis,
            }
        )
        return config


@keras_export("keras.losses.SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Cross-entropy between integer labels and predicted distributions.

    With `ignore_class`, entries of that class get a loss of 0 and are left out
    of the average (the ``"sum_over_batch_size"`` divisor counts valid entries
    only). As in Keras, `axis` is not part of the config.

    Args:
        from_logits: whether `y_pred` holds logits rather than probabilities.
        ignore_class: an optional class id to ignore (e.g. a "void" class).
        reduction: see `Loss`.
        axis: the class axis.
        name: the loss's name.
        dtype: the compute dtype.

    Example:
        >>> SparseCategoricalCrossentropy()([1, 2], [[0.05, 0.95, 0.0],
        ...                                          [0.1, 0.8, 0.1]])
        Array(1.1769392, dtype=float32)
    """

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: str | None = "sum_over_batch_size",
        axis: int = -1,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            reduction=reduction,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class

    def _call_with_mask(
        self, y_true: jax.Array, y_pred: jax.Array
    ) -> tuple[jax.Array, jax.Array | None]:
        if self.fn is not sparse_categorical_crossentropy:
            return super()._call_with_mask(y_true, y_pred)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return sparse_categorical_crossentropy_with_mask(
            y_true, y_pred, **self._fn_kwargs
        )

    def get_config(self) -> dict[str, Any]:
        config = Loss.get_config(self)
        config.update(
            {"from_logits": self.from_logits, "ignore_class": self.ignore_class}
        )
        return config


@keras_export("keras.losses.KLDivergence")
class KLDivergence(FunctionLoss):
    """Kullback-Leibler divergence: ``loss = y_true * log(y_true / y_pred)``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "kl_divergence",
        dtype: Any = None,
    ):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)


@keras_export("keras.losses.Poisson")
class Poisson(FunctionLoss):
    """Poisson loss: ``loss = y_pred - y_true * log(y_pred)``.

    Args:
        reduction: see `Loss`.
        name: the loss's name.
        dtype: the compute dtype.
    """

    def __init__(
        self,
        reduction: str | None = "sum_over_batch_size",
        name: str = "poisson",
        dtype: Any = None,
    ):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)
