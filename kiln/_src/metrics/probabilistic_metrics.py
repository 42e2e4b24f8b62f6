"""Probabilistic metrics: running means of cross-entropies, KL divergence and
the Poisson loss."""

from __future__ import annotations

from typing import Any

import jax

from kiln._src.api_export import keras_export
from kiln._src.losses.probabilistic_losses import (
    binary_crossentropy,
    categorical_crossentropy,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
    sparse_categorical_crossentropy_with_mask,
)
from kiln._src.metrics.reduction_metrics import MeanMetricWrapper


@keras_export("keras.metrics.KLDivergence")
class KLDivergence(MeanMetricWrapper):
    """The running mean of ``sum(y_true * log(y_true / y_pred), axis=-1)``.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "kl_divergence", dtype: Any = None):
        super().__init__(fn=kl_divergence, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.Poisson")
class Poisson(MeanMetricWrapper):
    """The running mean of ``y_pred - y_true * log(y_pred)``.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
    """

    def __init__(self, name: str = "poisson", dtype: Any = None):
        super().__init__(fn=poisson, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "dtype": self.dtype}


@keras_export("keras.metrics.BinaryCrossentropy")
class BinaryCrossentropy(MeanMetricWrapper):
    """The running mean of the binary cross-entropy.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; squeezes targets towards 0.5.
    """

    def __init__(
        self,
        name: str = "binary_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
    ):
        super().__init__(
            binary_crossentropy,
            name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
        }


@keras_export("keras.metrics.CategoricalCrossentropy")
class CategoricalCrossentropy(MeanMetricWrapper):
    """The running mean of the categorical cross-entropy.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in ``[0, 1]``; mixes targets with the uniform
            distribution.
        axis: the class axis.
    """

    def __init__(
        self,
        name: str = "categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        label_smoothing: float = 0,
        axis: int = -1,
    ):
        super().__init__(
            categorical_crossentropy,
            name,
            dtype=dtype,
            from_logits=from_logits,
            label_smoothing=label_smoothing,
            axis=axis,
        )
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._direction = "down"

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "label_smoothing": self.label_smoothing,
            "axis": self.axis,
        }


@keras_export("keras.metrics.SparseCategoricalCrossentropy")
class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """The running mean of the sparse categorical cross-entropy.

    With `ignore_class`, ignored entries contribute 0; as in Keras, they are
    also left out of the count only when a `sample_weight` is given.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        ignore_class: an optional class id to ignore.
        axis: the class axis.
    """

    def __init__(
        self,
        name: str = "sparse_categorical_crossentropy",
        dtype: Any = None,
        from_logits: bool = False,
        ignore_class: int | None = None,
        axis: int = -1,
    ):
        super().__init__(
            sparse_categorical_crossentropy,
            name=name,
            dtype=dtype,
            from_logits=from_logits,
            ignore_class=ignore_class,
            axis=axis,
        )
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
        self._direction = "down"

    def _values_and_mask(
        self, y_true: Any, y_pred: Any
    ) -> tuple[jax.Array, jax.Array | None]:
        return sparse_categorical_crossentropy_with_mask(
            y_true, y_pred, **self._fn_kwargs
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "from_logits": self.from_logits,
            "ignore_class": self.ignore_class,
            "axis": self.axis,
        }
