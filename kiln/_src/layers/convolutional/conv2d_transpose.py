"""`Conv2DTranspose`: 2D transposed convolution (learned upsampling)."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.convolutional.base_conv_transpose import BaseConvTranspose


@keras_export(["keras.layers.Conv2DTranspose", "keras.layers.Convolution2DTranspose"])
class Conv2DTranspose(BaseConvTranspose):
    """2D transposed convolution: the shape-inverse of `Conv2D`.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a 2-tuple.
        strides: an int or a 2-tuple, the upsampling factor. Strides > 1
            cannot be combined with a dilation rate > 1.
        padding: ``"valid"`` (length ``(n - 1) * s + max(k, s)``) or ``"same"``
            (length ``n * s``), case-insensitive.
        output_padding: None, or an int or a 2-tuple, each value strictly
            less than the stride: the extra length at the end of each axis.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or a 2-tuple.
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: as in `Dense`.

    Returns:
        A 4D tensor with `filters` channels.

    Example:
        >>> layer = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same")
        >>> layer(np.ones((4, 5, 5, 3))).shape
        (4, 10, 10, 2)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = (1, 1),
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = (1, 1),
        activation: Any = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            rank=2,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            output_padding=output_padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            kernel_constraint=kernel_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
