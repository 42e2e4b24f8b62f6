"""`Normalization`: ``(inputs - mean) / sqrt(variance)`` per feature, with the
statistics given or learned from data by `adapt`."""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from kiln._src.api_export import keras_export
from kiln._src.backend.config import epsilon as backend_epsilon
from kiln._src.backend.variable import Variable
from kiln._src.layers.layer import Layer


def _first_of(batch: Any) -> Any:
    """The inputs of an ``(x, y)`` or ``(x, y, sample_weight)`` batch."""
    return batch[0] if isinstance(batch, tuple) else batch


@keras_export("keras.layers.Normalization")
class Normalization(Layer):
    """Shifts and scales inputs to mean 0 and standard deviation 1 per feature:
    ``(inputs - mean) / sqrt(variance)`` (``sqrt(variance)`` floored at
    `keras.config.epsilon()`).

    Pass `mean` and `variance`, or call `adapt(data)` before use to compute
    them from data; adapted statistics are stored in the non-trainable
    weights `mean`, `variance` (and `count`), so they are saved with the model.

    Args:
        axis: the axis or axes kept (one statistic per index along them),
            default -1 (per feature); None: one statistic over everything.
        mean: optional mean, broadcastable to the kept axes.
        variance: optional variance, shaped like `mean`.
        invert: if True, undo the normalization:
            ``inputs * sqrt(variance) + mean``.

    Example:
        >>> layer = keras.layers.Normalization()
        >>> layer.adapt(np.array([[0.0, 10.0], [2.0, 30.0]]))
        >>> layer(np.array([[1.0, 20.0]]))
        Array([[0., 0.]], dtype=float32)
    """

    def __init__(
        self,
        axis: int | tuple[int, ...] | None = -1,
        mean: Any = None,
        variance: Any = None,
        invert: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        elif isinstance(axis, int):
            axis = (axis,)
        else:
            axis = tuple(axis)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self.supports_masking = True
        self._build_input_shape: tuple[Any, ...] | None = None
        self._given_mean: jax.Array | None = None
        self._given_variance: jax.Array | None = None
        if (mean is not None) != (variance is not None):
            raise ValueError(
                "When setting the statistics directly, pass both `mean` and "
                f"`variance`. Received: mean={mean}, variance={variance}"
            )
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError(
                    "`mean` and `variance` must have the same shape. Received: "
                    f"mean shape {np.shape(mean)}, variance shape "
                    f"{np.shape(variance)}"
                )
            if len(np.shape(mean)) > len(self.axis):
                raise ValueError(
                    "The rank of `mean` must be at most the number of kept "
                    f"axes ({len(self.axis)}). Received: mean shape "
                    f"{np.shape(mean)}, axis={self.axis}"
                )

    # -- building ----------------------------------------------------------------
    def build(self, input_shape: Any) -> None:
        if input_shape is None:
            return
        input_shape = tuple(input_shape)
        ndim = len(input_shape)
        self._build_input_shape = input_shape
        if any(a < -ndim or a >= ndim for a in self.axis):
            raise ValueError(
                f"All `axis` values must be in the range [-{ndim}, {ndim}) for "
                f"inputs of rank {ndim}. Received: axis={self.axis}"
            )
        self._keep_axis = tuple(sorted(a % ndim for a in self.axis))
        for a in self._keep_axis:
            if input_shape[a] is None:
                raise ValueError(
                    "Normalization needs every kept axis to have a known size. "
                    f"Received: axis={self.axis}, input shape {input_shape}, "
                    f"with axis {a} unknown"
                )
        self._reduce_axis = tuple(a for a in range(ndim) if a not in self._keep_axis)
        self._broadcast_shape = [
            input_shape[a] if a in self._keep_axis else 1 for a in range(ndim)
        ]
        self._mean_and_var_shape = tuple(input_shape[a] for a in self._keep_axis)
        if self.input_mean is None:
            self.adapt_mean = self.add_weight(
                name="mean",
                shape=self._mean_and_var_shape,
                initializer="zeros",
                trainable=False,
            )
            self.adapt_variance = self.add_weight(
                name="variance",
                shape=self._mean_and_var_shape,
                initializer="ones",
                trainable=False,
            )
            # Kept for the file format (Keras never updates it).
            self.count = self.add_weight(
                name="count",
                shape=(),
                dtype="int32",
                initializer="zeros",
                trainable=False,
            )
        else:
            self._given_mean = self._broadcast_given(self.input_mean, ndim)
            self._given_variance = self._broadcast_given(self.input_variance, ndim)
        self.built = True

    def _broadcast_given(self, value: Any, ndim: int) -> jax.Array:
        value = jnp.asarray(value)
        if value.ndim > 0:
            # Align the given dimensions with the kept axes, from the right.
            expanded = [1] * ndim
            for i in range(1, value.ndim + 1):
                expanded[self._keep_axis[-i]] = value.shape[-i]
            value = jnp.reshape(value, expanded)
        value = jnp.broadcast_to(value, self._broadcast_shape)
        return value.astype(self.compute_dtype)

    def get_build_config(self) -> dict[str, Any] | None:
        if self._build_input_shape:
            return {"input_shape": list(self._build_input_shape)}
        return None

    def build_from_config(self, config: dict[str, Any]) -> None:
        if config:
            self.build(tuple(config["input_shape"]))

    # -- adapting -------------------------------------------------------------------
    def adapt(self, data: Any) -> None:
        """Computes the mean and variance of `data` along the reduced axes.

        Args:
            data: a NumPy array or tensor, or an iterable of batches (a list,
                a generator, a dataset; ``(x, y)`` batches use ``x``).
        """
        if self.input_mean is not None:
            raise ValueError(
                "This Normalization layer was given `mean` and `variance`, so "
                "it cannot be adapted. Create it without them to use adapt()."
            )
        iterable = False
        if isinstance(data, Variable):
            data = data.value
        if isinstance(data, np.ndarray | jax.Array):
            input_shape = tuple(data.shape)
        elif hasattr(data, "__iter__") and not isinstance(data, str | bytes | dict):
            iterable = True
            iterator = iter(data)
            first = next(iterator, None)
            if first is None:
                raise ValueError(
                    "adapt() received an empty iterable (no batches). Pass at "
                    "least one batch, e.g. layer.adapt([x]) or "
                    "layer.adapt(list_of_batches)."
                )
            first = _first_of(first)
            shape = getattr(first, "shape", None)
            if shape is None:
                raise TypeError(
                    "adapt() expects an iterable of arrays or tensors (objects "
                    "with a `.shape`), e.g. a list of NumPy batches. Received "
                    f"an element of type {type(first).__name__}."
                )
            input_shape = tuple(shape)
            data = itertools.chain([first], iterator)
        else:
            raise TypeError(
                f"Unsupported data type for adapt(): {type(data).__name__}. "
                "adapt() accepts a NumPy array, a tensor, or an iterable of "
                "batches (a list, a generator, a dataset)."
            )
        if not self.built:
            self.build(input_shape)
        else:
            self._check_adapt_shape(input_shape, "data.shape")
        if iterable:
            total_mean, total_var = self._adapt_batches(data)
        elif isinstance(data, np.ndarray):
            total_mean = np.mean(data, axis=self._reduce_axis)
            total_var = np.var(data, axis=self._reduce_axis)
        else:
            x = jnp.asarray(data)
            x = x.astype(jnp.promote_types(x.dtype, jnp.float32))
            total_mean = jnp.mean(x, axis=self._reduce_axis)
            total_var = jnp.var(x, axis=self._reduce_axis)
        self.adapt_mean.assign(total_mean)
        self.adapt_variance.assign(total_var)

    def _check_adapt_shape(self, shape: tuple[Any, ...], what: str) -> None:
        for a in self._keep_axis:
            if shape[a] is not None and shape[a] != self._build_input_shape[a]:
                raise ValueError(
                    f"This layer was built for inputs of shape "
                    f"{self._build_input_shape}, but adapt() received data of "
                    f"an incompatible shape ({what}={shape}): axis {a} must "
                    f"have size {self._build_input_shape[a]}."
                )

    def _adapt_batches(self, batches: Any) -> tuple[jax.Array, jax.Array]:
        """Merges per-batch statistics (each batch weighted by its size)."""
        total_mean = jnp.zeros(self._mean_and_var_shape)
        total_var = jnp.zeros(self._mean_and_var_shape)
        total_count = 0
        for batch in batches:
            batch = jnp.asarray(_first_of(batch), dtype=self.compute_dtype)
            self._check_adapt_shape(tuple(batch.shape), "batch shape")
            batch_mean = jnp.mean(batch, axis=self._reduce_axis)
            batch_var = jnp.var(batch, axis=self._reduce_axis)
            batch_count = math.prod(batch.shape[a] for a in self._reduce_axis)
            total_count += batch_count
            batch_weight = float(batch_count) / total_count
            existing_weight = 1.0 - batch_weight
            new_mean = total_mean * existing_weight + batch_mean * batch_weight
            # Pooled variance: each part's variance plus its mean's squared
            # distance to the new mean.
            total_var = (total_var + (total_mean - new_mean) ** 2) * existing_weight + (
                batch_var + (batch_mean - new_mean) ** 2
            ) * batch_weight
            total_mean = new_mean
        return total_mean, total_var

    # -- calling --------------------------------------------------------------------
    @property
    def mean(self) -> jax.Array | None:
        """The mean in use, broadcastable to the inputs (None until built)."""
        if self._given_mean is not None or not hasattr(self, "adapt_mean"):
            return self._given_mean
        mean = jnp.reshape(self.adapt_mean.value, self._broadcast_shape)
        return mean.astype(self.compute_dtype)

    @property
    def variance(self) -> jax.Array | None:
        """The variance in use, broadcastable to the inputs (None until built)."""
        if self._given_variance is not None or not hasattr(self, "adapt_variance"):
            return self._given_variance
        variance = jnp.reshape(self.adapt_variance.value, self._broadcast_shape)
        return variance.astype(self.compute_dtype)

    def call(self, inputs: Any) -> Any:
        mean, variance = self.mean, self.variance
        if mean is None:
            raise ValueError(
                f"Normalization layer '{self.name}' is not built: call "
                "`adapt(data)` or `build(input_shape)` before using it."
            )
        inputs = jnp.asarray(inputs).astype(self.compute_dtype)
        std = jnp.maximum(jnp.sqrt(variance), backend_epsilon())
        if self.invert:
            return mean + inputs * std
        return (inputs - mean) / std

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "invert": self.invert,
                "mean": np.array(self.input_mean).tolist(),
                "variance": np.array(self.input_variance).tolist(),
            }
        )
        return config
