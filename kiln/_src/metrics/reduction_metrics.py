"""`Sum`, `Mean` and `MeanMetricWrapper`: (weighted) running reductions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.losses import lookup as losses_lookup
from kiln._src.losses.loss import (
    apply_mask,
    divide_no_nan,
    squeeze_or_expand_to_same_rank,
    to_tensor,
)
from kiln._src.metrics.metric import Metric
from kiln._src.saving import serialization_lib


def reduce_to_samplewise_values(
    values: Any,
    sample_weight: Any,
    reduce_fn: Callable[..., jax.Array],
    dtype: str,
    mask: Any = None,
) -> tuple[jax.Array, jax.Array | None]:
    """Reduces `values` to one value per sample, weighted by `sample_weight`.

    Axes of `values` beyond the weights' rank are reduced first, then the
    values are weighted; the returned weights are reduced to one per sample
    too (Keras's rules). A `mask` only takes effect together with weights.

    Returns:
        ``(values, sample_weight)``; `sample_weight` is None when not given.
    """
    values = to_tensor(values, dtype)
    if sample_weight is not None:
        sample_weight = to_tensor(sample_weight, dtype)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask, dtype, "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_ndim = sample_weight.ndim
        if values.ndim > weight_ndim:
            values = reduce_fn(values, axis=tuple(range(weight_ndim, values.ndim)))
        sample_weight = jnp.broadcast_to(sample_weight, values.shape)
        values = values * sample_weight
        if weight_ndim > 1:
            sample_weight = reduce_fn(sample_weight, axis=tuple(range(1, weight_ndim)))
    if values.ndim > 1:
        values = reduce_fn(values, axis=tuple(range(1, values.ndim)))
    return values, sample_weight


@keras_export("keras.metrics.Sum")
class Sum(Metric):
    """The (weighted) sum of the given values.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.

    Example:
        >>> m = Sum()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.result()
        Array(16., dtype=float32)
        >>> m.reset_state()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        Array(4., dtype=float32)
    """

    def __init__(self, name: str = "sum", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="total"
        )

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        values, _ = reduce_to_samplewise_values(
            values, sample_weight, jnp.sum, self.dtype
        )
        self.total.assign(self.total.value + jnp.sum(values))

    def reset_state(self) -> None:
        self.total.assign(0)

    def result(self) -> jax.Array:
        return jnp.asarray(self.total.value, dtype=self.dtype)


@keras_export("keras.metrics.Mean")
class Mean(Metric):
    """The (weighted) mean of the given values: ``total / count``.

    With `sample_weight`, each sample's value counts with its weight and the
    weights add up in `count`.

    Args:
        name: the metric's name.
        dtype: the dtype of the state and result.

    Example:
        >>> m = Mean()
        >>> m.update_state([1, 3, 5, 7])
        >>> m.result()
        Array(4., dtype=float32)
        >>> m.reset_state()
        >>> m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
        >>> m.result()
        Array(2., dtype=float32)
    """

    def __init__(self, name: str = "mean", dtype: Any = None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="total"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="count"
        )

    def update_state(self, values: Any, sample_weight: Any = None) -> None:
        self._update_mean(values, sample_weight)

    def _update_mean(self, values: Any, sample_weight: Any, mask: Any = None) -> None:
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, jnp.mean, self.dtype, mask=mask
        )
        self.total.assign(self.total.value + jnp.sum(values))
        if sample_weight is not None:
            num_samples = jnp.sum(sample_weight)
        elif values.ndim >= 1:
            num_samples = values.shape[0]
        else:
            num_samples = 1
        self.count.assign(self.count.value + jnp.asarray(num_samples, self.dtype))

    def reset_state(self) -> None:
        self.total.assign(0)
        self.count.assign(0)

    def result(self) -> jax.Array:
        return divide_no_nan(
            self.total.value, jnp.asarray(self.count.value, dtype=self.dtype)
        )


@keras_export("keras.metrics.MeanMetricWrapper")
class MeanMetricWrapper(Mean):
    """The running mean of ``fn(y_true, y_pred, **kwargs)`` over all samples.

    Args:
        fn: the per-sample metric function.
        name: the metric's name.
        dtype: the dtype of the state and result.
        **kwargs: keyword arguments passed on to `fn`.

    Example:
        >>> def squared_error(y_true, y_pred):
        ...     return (jnp.asarray(y_true) - jnp.asarray(y_pred)) ** 2
        >>> MeanMetricWrapper(fn=squared_error)([0.0, 1.0], [1.0, 1.0])
        Array(0.5, dtype=float32)
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        dtype: Any = None,
        **kwargs: Any,
    ):
        if not callable(fn):
            raise TypeError(
                "`fn` must be a function `fn(y_true, y_pred, **kwargs)` that "
                f"returns per-sample values. Received: fn={fn!r}"
            )
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        # A wrapped Keras loss is a metric to minimize.
        if fn in losses_lookup.ALL_OBJECTS or type(fn) in losses_lookup.ALL_OBJECTS:
            self._direction = "down"

    def _values_and_mask(
        self, y_true: Any, y_pred: Any
    ) -> tuple[jax.Array, jax.Array | None]:
        """The per-sample values of `fn`, and which of them are valid."""
        return self._fn(y_true, y_pred, **self._fn_kwargs), None

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        values, mask = self._values_and_mask(y_true, y_pred)
        self._update_mean(values, sample_weight, mask=mask)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["fn"] = serialization_lib.serialize_keras_object(self._fn)
        config.update(serialization_lib.serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MeanMetricWrapper:
        if "fn" in config:
            config = serialization_lib.deserialize_keras_object(config)
        return cls(**config)
