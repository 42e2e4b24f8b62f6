"""`BasePooling`: windowed max or average pooling in 1, 2 or 3 dimensions."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np
from jax import lax

from kiln._src.layers.convolutional import conv_utils
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer

_MODES = ("max", "average")


def _window(values: tuple[int, ...], data_format: str) -> tuple[int, ...]:
    """Spatial window values -> one value per input axis (1 on batch/channels)."""
    if data_format == "channels_last":
        return (1, *values, 1)
    return (1, 1, *values)


def max_pool(
    inputs: Any,
    pool_size: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    data_format: str,
) -> Any:
    # Concrete NumPy scalars (never traced), so that JAX recognises the max
    # monoid and can differentiate the pooling.
    if jnp.issubdtype(inputs.dtype, jnp.floating):
        lowest = np.array(-np.inf, inputs.dtype)
    else:
        lowest = np.array(jnp.iinfo(inputs.dtype).min, inputs.dtype)
    return lax.reduce_window(
        inputs,
        lowest,
        lax.max,
        _window(pool_size, data_format),
        _window(strides, data_format),
        padding.upper(),
    )


def average_pool(
    inputs: Any,
    pool_size: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    data_format: str,
) -> Any:
    """Window means; with "same" padding each window is divided by the number
    of real (not padded) elements it covers, like Keras."""
    window = _window(pool_size, data_format)
    steps = _window(strides, data_format)
    zero = np.array(0, inputs.dtype)
    sums = lax.reduce_window(inputs, zero, lax.add, window, steps, padding.upper())
    if padding == "valid":
        return sums / jnp.array(math.prod(pool_size), inputs.dtype)
    # Counts depend only on the spatial position: pool a ones tensor with
    # batch and channel axes of length 1, and broadcast.
    ones_shape = [n if w != 1 else 1 for n, w in zip(inputs.shape, window)]
    if data_format == "channels_last":
        ones_shape[0] = ones_shape[-1] = 1
    else:
        ones_shape[0] = ones_shape[1] = 1
    counts = lax.reduce_window(
        jnp.ones(ones_shape, inputs.dtype), zero, lax.add, window, steps, "SAME"
    )
    return sums / counts


class BasePooling(Layer):
    """Max or average pooling over `pool_dimensions` spatial axes.

    Args:
        pool_size: an int or `pool_dimensions` ints, the window size.
        strides: an int, `pool_dimensions` ints, or None (= `pool_size`).
        pool_dimensions: 1, 2 or 3.
        pool_mode: ``"max"`` or ``"average"``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive, stored
            lowercased). With "same", average pooling divides by the number
            of real elements in each window.
        data_format: ``"channels_last"`` or ``"channels_first"``.
    """

    def __init__(
        self,
        pool_size: Any,
        strides: Any,
        pool_dimensions: int,
        pool_mode: str = "max",
        padding: str = "valid",
        data_format: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(name=name, **kwargs)
        if pool_mode not in _MODES:
            raise ValueError(
                f"`pool_mode` must be one of {_MODES}. "
                f"Received: pool_mode={pool_mode!r}"
            )
        self.pool_size = conv_utils.normalize_tuple(
            pool_size, pool_dimensions, "pool_size"
        )
        strides = pool_size if strides is None else strides
        self.strides = conv_utils.normalize_tuple(strides, pool_dimensions, "strides")
        self.pool_mode = pool_mode
        self.padding = conv_utils.normalize_padding(padding)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.pool_dimensions = pool_dimensions
        self.input_spec = InputSpec(ndim=pool_dimensions + 2)

    def call(self, inputs: Any) -> Any:
        self.compute_output_shape(inputs.shape)
        padding = self.padding
        if self.pool_mode == "max":
            return max_pool(
                inputs, self.pool_size, self.strides, padding, self.data_format
            )
        if not jnp.issubdtype(inputs.dtype, jnp.floating):
            inputs = inputs.astype(self.compute_dtype)
        return average_pool(
            inputs, self.pool_size, self.strides, padding, self.data_format
        )

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        channels = input_shape[conv_utils.channel_axis(self.data_format)]
        return conv_utils.conv_output_shape(
            input_shape,
            channels,
            self.pool_size,
            self.strides,
            self.padding,
            self.data_format,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "pool_size": self.pool_size,
                "padding": self.padding,
                "strides": self.strides,
                "data_format": self.data_format,
            }
        )
        return config
