"""`SeparableConv1D`: 1D depthwise separable convolution."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.convolutional.base_separable_conv import BaseSeparableConv


@keras_export(["keras.layers.SeparableConv1D", "keras.layers.SeparableConvolution1D"])
class SeparableConv1D(BaseSeparableConv):
    """1D separable convolution: a depthwise convolution (each channel on its
    own) followed by a pointwise (1x1) convolution that mixes channels.

    Args:
        filters: the number of output channels.
        kernel_size: an int or a 1-tuple, the depthwise window.
        strides: an int or a 1-tuple.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or a 1-tuple.
        depth_multiplier: depthwise output channels per input channel.
        activation: applied to the result (default: none).
        use_bias: whether to add a bias (one per filter).
        depthwise_initializer, pointwise_initializer, bias_initializer,
        depthwise_regularizer, pointwise_regularizer, bias_regularizer,
        activity_regularizer, depthwise_constraint, pointwise_constraint,
        bias_constraint: initializers, penalties and constraints of the two
            kernels and the bias.

    Returns:
        A 3D tensor with `filters` channels.

    Example:
        >>> layer = keras.layers.SeparableConv1D(4, 3)
        >>> layer(np.ones((4, 10, 3))).shape
        (4, 8, 4)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        depth_multiplier: int = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        pointwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        pointwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        pointwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            rank=1,
            depth_multiplier=depth_multiplier,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            pointwise_initializer=pointwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            pointwise_regularizer=pointwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            pointwise_constraint=pointwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
