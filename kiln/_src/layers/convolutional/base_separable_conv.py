"""`BaseSeparableConv`: a depthwise convolution followed by a 1x1 pointwise
convolution, shared by `SeparableConv1D` and `SeparableConv2D`."""

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


class BaseSeparableConv(Layer):
    """Depthwise separable convolution: a per-channel (depthwise) convolution,
    then a pointwise convolution mixing the channels into `filters` outputs.

    Args:
        rank: the number of spatial dimensions (1 or 2).
        depth_multiplier: depthwise output channels per input channel.
        filters: the number of output channels (of the pointwise step).
        kernel_size: an int or `rank` ints, the depthwise window.
        strides: an int or `rank` ints, the depthwise strides.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or `rank` ints.
        activation: applied to the result (default: none).
        use_bias: whether to add a bias (one per filter).
        depthwise_initializer / pointwise_initializer / bias_initializer:
            initializers (defaults ``"glorot_uniform"``, ``"glorot_uniform"``,
            ``"zeros"``).
        depthwise_regularizer / pointwise_regularizer / bias_regularizer /
        activity_regularizer: penalties added to the loss.
        depthwise_constraint / pointwise_constraint / bias_constraint:
            constraints applied after updates.

    Kernels: depthwise ``(*kernel_size, in_channels, depth_multiplier)``,
    pointwise ``(1, ..., 1, in_channels * depth_multiplier, filters)``.
    """

    def __init__(
        self,
        rank: int,
        depth_multiplier: int,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        data_format: str | None = None,
        dilation_rate: Any = 1,
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.depth_multiplier = conv_utils.positive_int(
            depth_multiplier, "depth_multiplier"
        )
        self.filters = conv_utils.positive_int(filters, "filters")
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
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=rank + 2)

    def build(self, input_shape: Any) -> None:
        channels = input_channels(self, input_shape)
        self.compute_output_shape(input_shape)
        axis = conv_utils.channel_axis(self.data_format)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={axis: channels})
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel",
            shape=(*self.kernel_size, channels, self.depth_multiplier),
            initializer=self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
        )
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel",
            shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    def call(self, inputs: Any) -> Any:
        depthwise = compute_value(self, self.depthwise_kernel)
        pointwise = compute_value(self, self.pointwise_kernel)
        outputs = conv_utils.depthwise_conv(
            jnp.asarray(inputs, depthwise.dtype),
            depthwise,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.data_format,
        )
        ones = (1,) * self.rank
        outputs = conv_utils.conv(
            outputs, pointwise, ones, "valid", ones, self.data_format
        )
        return add_bias_and_activate(self, outputs)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return conv_utils.conv_output_shape(
            input_shape,
            self.filters,
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
                "filters": self.filters,
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
                "pointwise_initializer": serialize_keras_object(
                    self.pointwise_initializer
                ),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "depthwise_regularizer": serialize_keras_object(
                    self.depthwise_regularizer
                ),
                "pointwise_regularizer": serialize_keras_object(
                    self.pointwise_regularizer
                ),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(
                    self.activity_regularizer
                ),
                "depthwise_constraint": serialize_keras_object(
                    self.depthwise_constraint
                ),
                "pointwise_constraint": serialize_keras_object(
                    self.pointwise_constraint
                ),
                "bias_constraint": serialize_keras_object(self.bias_constraint),
            }
        )
        return config
