"""Argument checks, output-shape arithmetic and the JAX calls shared by the
convolution and pooling layers.

Shapes follow Keras's rules: with ``"valid"`` padding an axis of length ``n``
gives ``floor((n - d*(k-1) - 1) / s) + 1``; with ``"same"`` (and ``"causal"``)
it gives ``ceil(n / s)``. Transposed convolutions invert these, with
``output_padding`` choosing among the lengths that map back to ``n``.
"""

from __future__ import annotations

import operator
from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from kiln._src.backend import config as backend_config

DATA_FORMATS = ("channels_last", "channels_first")


# -- argument checks -----------------------------------------------------------


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def positive_int(value: Any, name: str) -> int:
    """`value` as an int, or a ValueError naming the argument."""
    number = _as_int(value)
    if number is None or number <= 0:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a strictly positive "
            f"integer. Received: {name}={value!r}"
        )
    return number


def normalize_tuple(
    value: Any, n: int, name: str, allow_zero: bool = False
) -> tuple[int, ...]:
    """An int or a sequence of `n` ints -> a tuple of `n` ints (all > 0, or
    >= 0 with `allow_zero`)."""
    expected = f"an integer or a tuple/list of {n} integer{'s' if n > 1 else ''}"
    if _as_int(value) is not None:
        values: tuple[Any, ...] = (_as_int(value),) * n
    elif isinstance(value, list | tuple):
        values = tuple(value)
        if len(values) != n or any(_as_int(v) is None for v in values):
            raise ValueError(
                f"The `{name}` argument must be {expected}. Received: {name}={value!r}"
            )
        values = tuple(_as_int(v) for v in values)
    else:
        raise ValueError(
            f"The `{name}` argument must be {expected}. Received: {name}={value!r}"
        )
    bound = 0 if allow_zero else 1
    if any(v < bound for v in values):
        requirement = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"Every value of the `{name}` argument must be {requirement}. "
            f"Received: {name}={value!r}"
        )
    return values


def normalize_padding(value: Any, allow_causal: bool = False) -> str:
    """``"valid"``/``"same"`` (and ``"causal"`` where allowed), lowercased."""
    allowed = ("valid", "same", "causal") if allow_causal else ("valid", "same")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(
            f"The `padding` argument must be one of {allowed} (case-insensitive). "
            f"Received: padding={value!r}"
        )
    return value.lower()


def normalize_data_format(value: Any) -> str:
    """None -> the global `image_data_format()`; otherwise checked, lowercased."""
    if value is None:
        return backend_config.image_data_format()
    if not isinstance(value, str) or value.lower() not in DATA_FORMATS:
        raise ValueError(
            f"The `data_format` argument must be one of {DATA_FORMATS}. "
            f"Received: data_format={value!r}"
        )
    return value.lower()


def check_rank(layer_name: str, input_shape: Any, ndim: int) -> None:
    """Raises the InputSpec-style error when an input's rank is not `ndim`."""
    shape = tuple(input_shape)
    if len(shape) != ndim:
        raise ValueError(
            f'Input 0 of layer "{layer_name}" is incompatible with the layer: '
            f"expected ndim={ndim}, found ndim={len(shape)}. "
            f"Full shape received: {shape}"
        )


def channel_axis(data_format: str) -> int:
    return -1 if data_format == "channels_last" else 1


def spatial_shape(input_shape: Any, data_format: str) -> tuple[Any, ...]:
    shape = tuple(input_shape)
    return shape[1:-1] if data_format == "channels_last" else shape[2:]


def with_spatial(
    input_shape: Any, spatial: Any, channels: Any, data_format: str
) -> tuple[Any, ...]:
    """The full shape with the batch axis of `input_shape`."""
    if data_format == "channels_last":
        return (input_shape[0], *spatial, channels)
    return (input_shape[0], channels, *spatial)


# -- output lengths ------------------------------------------------------------


def conv_output_length(
    length: int | None, kernel: int, stride: int, padding: str, dilation: int = 1
) -> int | None:
    if length is None:
        return None
    if padding == "valid":
        effective = dilation * (kernel - 1) + 1
        return (length - effective) // stride + 1
    return (length + stride - 1) // stride  # "same" and "causal": ceil(n / s)


def conv_output_shape(
    input_shape: Any,
    channels: int,
    kernel_size: tuple[int, ...],
    strides: tuple[int, ...],
    padding: str,
    data_format: str,
    dilation_rate: tuple[int, ...] | None = None,
) -> tuple[Any, ...]:
    """Output shape of a convolution or pooling; a ValueError when an axis
    would be empty."""
    dilation_rate = dilation_rate or (1,) * len(kernel_size)
    spatial = spatial_shape(input_shape, data_format)
    lengths = tuple(
        conv_output_length(n, k, s, padding, d)
        for n, k, s, d in zip(spatial, kernel_size, strides, dilation_rate)
    )
    if any(n is not None and n <= 0 for n in lengths):
        raise ValueError(
            "Computed output size would be zero or negative: the input is "
            "smaller than the (dilated) window. Use a larger input, a smaller "
            "kernel/pool size or dilation, or padding='same'. Received: "
            f"input_shape={tuple(input_shape)}, window={kernel_size}, "
            f"strides={strides}, dilation_rate={dilation_rate}, padding={padding}"
        )
    return with_spatial(input_shape, lengths, channels, data_format)


def transpose_padding(
    kernel: int, stride: int, dilation: int, padding: str, output_padding: int | None
) -> tuple[int, int]:
    """``(low, high)`` padding of the stride-dilated input, such that a valid
    convolution with the flipped kernel gives Keras's output length."""
    effective = (kernel - 1) * dilation + 1
    if padding == "valid":
        extra = max(effective, stride) - effective
        extra = extra if output_padding is None else output_padding
        return effective - 1, effective - 1 + extra
    if output_padding is None:
        total = stride + effective - 2
    else:
        total = effective + effective % 2 - 2 + output_padding
    low = min(total - total // 2, effective - 1)
    return low, total - low


def transpose_output_length(
    length: int | None,
    kernel: int,
    stride: int,
    padding: str,
    output_padding: int | None,
    dilation: int = 1,
) -> int | None:
    if length is None:
        return None
    low, high = transpose_padding(kernel, stride, dilation, padding, output_padding)
    effective = (kernel - 1) * dilation + 1
    return (length - 1) * stride + 1 + low + high - effective + 1


# -- JAX computations ----------------------------------------------------------


def dimension_numbers(rank: int, data_format: str) -> lax.ConvDimensionNumbers:
    """Inputs/outputs in `data_format`; kernels ``(*window, in, out)``."""
    ndim = rank + 2
    if data_format == "channels_last":
        channels, spatial = ndim - 1, tuple(range(1, ndim - 1))
    else:
        channels, spatial = 1, tuple(range(2, ndim))
    io_spec = (0, channels, *spatial)
    kernel_spec = (ndim - 1, ndim - 2, *range(rank))
    return lax.ConvDimensionNumbers(io_spec, kernel_spec, io_spec)


def conv(
    inputs: jax.Array,
    kernel: jax.Array,
    strides: tuple[int, ...],
    padding: str,
    dilation_rate: tuple[int, ...],
    data_format: str,
    groups: int = 1,
) -> jax.Array:
    """Cross-correlation with a ``(*window, in/groups, out)`` kernel."""
    rank = kernel.ndim - 2
    return lax.conv_general_dilated(
        inputs,
        kernel,
        window_strides=strides,
        padding=padding.upper(),
        rhs_dilation=dilation_rate,
        dimension_numbers=dimension_numbers(rank, data_format),
        feature_group_count=groups,
    )


def depthwise_conv(
    inputs: jax.Array,
    kernel: jax.Array,
    strides: tuple[int, ...],
    padding: str,
    dilation_rate: tuple[int, ...],
    data_format: str,
) -> jax.Array:
    """Each input channel convolved with its own ``depth_multiplier`` filters;
    `kernel` is ``(*window, in, depth_multiplier)``; output channel
    ``c * depth_multiplier + m``."""
    *window, channels, multiplier = kernel.shape
    grouped = jnp.reshape(kernel, (*window, 1, channels * multiplier))
    return conv(inputs, grouped, strides, padding, dilation_rate, data_format, channels)


def conv_transpose(
    inputs: jax.Array,
    kernel: jax.Array,
    strides: tuple[int, ...],
    padding: str,
    output_padding: tuple[int, ...] | None,
    dilation_rate: tuple[int, ...],
    data_format: str,
) -> jax.Array:
    """Transposed convolution with a ``(*window, out, in)`` kernel (the
    gradient of `conv` with respect to its input)."""
    rank = kernel.ndim - 2
    pads = [
        transpose_padding(
            kernel.shape[i],
            strides[i],
            dilation_rate[i],
            padding,
            None if output_padding is None else output_padding[i],
        )
        for i in range(rank)
    ]
    return lax.conv_transpose(
        inputs,
        kernel,
        strides=strides,
        padding=pads,
        rhs_dilation=dilation_rate,
        dimension_numbers=dimension_numbers(rank, data_format),
        transpose_kernel=True,
    )
