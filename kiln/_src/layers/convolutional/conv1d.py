"""`Conv1D`: temporal convolution, with Keras's ``"causal"`` padding."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.convolutional import conv_utils
from kiln._src.layers.convolutional.base_conv import BaseConv


@keras_export(["keras.layers.Conv1D", "keras.layers.Convolution1D"])
class Conv1D(BaseConv):
    """1D convolution over `(batch, steps, channels)` inputs (channels_last).

    Args:
        filters: the number of output channels.
        kernel_size: an int or a 1-tuple, the window length.
        strides: an int or a 1-tuple.
        padding: ``"valid"``, ``"same"`` or ``"causal"`` (left padding by
            ``dilation_rate * (kernel_size - 1)``: ``output[t]`` depends only on
            ``input[:t + 1]``), case-insensitive.
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or a 1-tuple.
        groups: the number of channel groups convolved separately.
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: as in `Dense`.

    Returns:
        A `(batch, new_steps, filters)` tensor (channels_last).

    Example:
        >>> keras.layers.Conv1D(32, 3, activation="relu")(np.ones((4, 10, 128))).shape
        (4, 8, 32)
    """

    def __init__(
        self,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
        groups: int = 1,
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
            rank=1,
            filters=filters,
            kernel_size=kernel_size,
            strides=strides,
            padding=padding,
            data_format=data_format,
            dilation_rate=dilation_rate,
            groups=groups,
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

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        if self.padding != "causal":
            return super().convolution_op(inputs, kernel)
        left = self.dilation_rate[0] * (self.kernel_size[0] - 1)
        time_axis = 1 if self.data_format == "channels_last" else 2
        pads = [(0, 0)] * 3
        pads[time_axis] = (left, 0)
        return conv_utils.conv(
            jnp.pad(inputs, pads),
            kernel,
            self.strides,
            "valid",
            self.dilation_rate,
            self.data_format,
            self.groups,
        )
