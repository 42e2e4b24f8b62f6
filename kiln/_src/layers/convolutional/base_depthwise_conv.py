"""`BaseDepthwiseConv`: per-channel convolution shared by `DepthwiseConv1D`
and `DepthwiseConv2D`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src import activations, constraints, initializers, regularizers
from kiln._src.layers.convolutional import conv_utils
from kiln._src.layers.convolutional.base_conv import (
    add_bias_and_activate,
    compute_value,
    input_channels,
)
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import serialize_keras_object


class BaseDepthwiseConv(Layer):
    """Convolves each input channel with its own `depth_multiplier` filters
    (no mixing across channels); output channel ``c * depth_multiplier + m``
    comes from input channel ``c``.

    Args:
        rank: the number of spatial dimensions (1 or 2).
        depth_multiplier: the number of output channels per input channel.
        kernel_size: an int or `rank` ints.
        strides: an int or `rank` ints.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or `rank` ints.
        activation: applied to the result (default: none).
        use_bias: whether to add a bias (one per output channel).
        depthwise_initializer / bias_initializer: initializers (defaults
            ``"glorot_uniform"`` / ``"zeros"``).
        depthwise_regularizer / bias_regularizer / activity_regularizer:
            penalties added to the loss.
        depthwise_constraint / bias_constraint: constraints applied after
            updates.

    The kernel has shape ``(*kernel_size, in_channels, depth_multiplier)``.
    """

    def __init__(
        self,
        rank: int,
        depth_multiplier: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.depth_multiplier = conv_utils.positive_int(
            depth_multiplier, "depth_multiplier"
        )
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.dilation_rate = conv_utils.normalize_tuple(
            dilation_rate, rank, "dilation_rate"
        )
        self.padding = conv_utils.normalize_padding(padding)
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=rank + 2)

    def build(self, input_shape: Any) -> None:
        channels = input_channels(self, input_shape)
        self.compute_output_shape(input_shape)
        axis = conv_utils.channel_axis(self.data_format)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={axis: channels})
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(channels * self.depth_multiplier,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def call(self, inputs: Any) -> Any:
        kernel = compute_value(self, self.kernel)
        outputs = conv_utils.depthwise_conv(
            jnp.asarray(inputs, kernel.dtype),
            kernel,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.data_format,
        )
        return add_bias_and_activate(self, outputs)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        channels = input_shape[conv_utils.channel_axis(self.data_format)]
        return conv_utils.conv_output_shape(
            input_shape,
            None if channels is None else channels * self.depth_multiplier,
            self.kernel_size,
            self.strides,
            self.padding,
            self.data_format,
            self.dilation_rate,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "depth_multiplier": self.depth_multiplier,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "depthwise_initializer": serialize_keras_object(
                    self.depthwise_initializer
                ),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "depthwise_regularizer": serialize_keras_object(
                    self.depthwise_regularizer
                ),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(
                    self.activity_regularizer
                ),
                "depthwise_constraint": serialize_keras_object(
                    self.depthwise_constraint
                ),
                "bias_constraint": serialize_keras_object(self.bias_constraint),
            }
        )
        return config
