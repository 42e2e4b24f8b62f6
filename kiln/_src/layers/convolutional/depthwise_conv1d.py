"""`DepthwiseConv1D`: 1D depthwise (per-channel) convolution."""

from __future__ import annotations

from typing import Any

from kiln._src.api_export import keras_export
from kiln._src.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv


@keras_export("keras.layers.DepthwiseConv1D")
class DepthwiseConv1D(BaseDepthwiseConv):
    """1D depthwise convolution: each input channel is convolved with its own
    `depth_multiplier` filters, with no mixing across channels.

    Args:
        kernel_size: an int or a 1-tuple.
        strides: an int or a 1-tuple.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        depth_multiplier: output channels per input channel (default 1).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or a 1-tuple.
        activation: applied to the result (default: none).
        use_bias: whether to add a bias (one per output channel).
        depthwise_initializer, bias_initializer, depthwise_regularizer,
        bias_regularizer, activity_regularizer, depthwise_constraint,
        bias_constraint: as for the kernel and bias of `Conv1D`.

    Returns:
        A 3D tensor with ``in_channels * depth_multiplier`` channels.

    Example:
        >>> layer = keras.layers.DepthwiseConv1D(3, depth_multiplier=2)
        >>> layer(np.ones((4, 10, 3))).shape
        (4, 8, 6)
    """

    def __init__(
        self,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        data_format: str | None = None,
        dilation_rate: Any = 1,
        activation: Any = None,
        use_bias: bool = True,
        depthwise_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        depthwise_regularizer: Any = None,
        bias_regularizer: Any = None,
        activity_regularizer: Any = None,
        depthwise_constraint: Any = None,
        bias_constraint: Any = None,
        **kwargs: Any,
    ):
        super().__init__(
            rank=1,
            depth_multiplier=depth_multiplier,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            bias_regularizer=bias_regularizer,
            activity_regularizer=activity_regularizer,
            depthwise_constraint=depthwise_constraint,
            bias_constraint=bias_constraint,
            **kwargs,
        )
