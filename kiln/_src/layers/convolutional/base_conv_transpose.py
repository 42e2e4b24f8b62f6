"""`BaseConvTranspose`: the transposed convolution shared by
`Conv1DTranspose`, `Conv2DTranspose` and `Conv3DTranspose`."""

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


class BaseConvTranspose(Layer):
    """An N-D transposed convolution ("deconvolution"): maps the shape of a
    convolution's output back to the shape of its input.

    Args:
        rank: the number of spatial dimensions (1, 2 or 3).
        filters: the number of output channels.
        kernel_size: an int or `rank` ints.
        strides: an int or `rank` ints (the upsampling factor). Strides > 1
            cannot be combined with a dilation rate > 1.
        padding: ``"valid"`` (output length ``(n - 1) * s + k``) or ``"same"``
            (output length ``n * s``), case-insensitive.
        output_padding: None, an int or `rank` ints, each strictly less than
            the stride: the output length becomes ``(n - 1) * s + k + p`` with
            "valid" padding, ``(n - 1) * s + k % 2 + p`` with "same".
        data_format: ``"channels_last"`` or ``"channels_first"``.
        dilation_rate: an int or `rank` ints.
        activation, use_bias, kernel_initializer, bias_initializer,
        kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint: as in `Dense`.

    The kernel has shape ``(*kernel_size, filters, in_channels)``.
    """

    def __init__(
        self,
        rank: int,
        filters: int,
        kernel_size: Any,
        strides: Any = 1,
        padding: str = "valid",
        output_padding: Any = None,
        data_format: str | None = None,
        dilation_rate: Any = 1,
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
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = conv_utils.positive_int(filters, "filters")
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.dilation_rate = conv_utils.normalize_tuple(
            dilation_rate, rank, "dilation_rate"
        )
        self.padding = conv_utils.normalize_padding(padding)
        if output_padding is None:
            self.output_padding = None
        else:
            self.output_padding = conv_utils.normalize_tuple(
                output_padding, rank, "output_padding", allow_zero=True
            )
            for i, (pad, stride) in enumerate(zip(self.output_padding, self.strides)):
                if pad >= stride:
                    raise ValueError(
                        "`output_padding` must be strictly less than `strides` "
                        f"for all dimensions. At dimension {i}, `output_padding` "
                        f"is {pad} but `strides` is {stride}. Received: "
                        f"output_padding={self.output_padding}, "
                        f"strides={self.strides}"
                    )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with "
                "`dilation_rate > 1`: set one of them to 1. Received: "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.data_format = conv_utils.normalize_data_format(data_format)
        self.activation = activations.get(activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=rank + 2)

    def build(self, input_shape: Any) -> None:
        channels = input_channels(self, input_shape)
        axis = conv_utils.channel_axis(self.data_format)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={axis: channels})
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.filters, channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
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
        kernel = compute_value(self, self.kernel)
        outputs = conv_utils.conv_transpose(
            jnp.asarray(inputs, kernel.dtype),
            kernel,
            self.strides,
            self.padding,
            self.output_padding,
            self.dilation_rate,
            self.data_format,
        )
        return add_bias_and_activate(self, outputs)

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        spatial = conv_utils.spatial_shape(input_shape, self.data_format)
        pads = self.output_padding or (None,) * self.rank
        lengths = [
            conv_utils.transpose_output_length(n, k, s, self.padding, p, d)
            for n, k, s, p, d in zip(
                spatial, self.kernel_size, self.strides, pads, self.dilation_rate
            )
        ]
        return conv_utils.with_spatial(
            input_shape, lengths, self.filters, self.data_format
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "output_padding": self.output_padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": serialize_keras_object(self.kernel_initializer),
                "bias_initializer": serialize_keras_object(self.bias_initializer),
                "kernel_regularizer": serialize_keras_object(self.kernel_regularizer),
                "bias_regularizer": serialize_keras_object(self.bias_regularizer),
                "activity_regularizer": serialize_keras_object(
                    self.activity_regularizer
                ),
                "kernel_constraint": serialize_keras_object(self.kernel_constraint),
                "bias_constraint": serialize_keras_object(self.bias_constraint),
            }
        )
        return config
