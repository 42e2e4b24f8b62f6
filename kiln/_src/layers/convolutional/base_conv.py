"""`BaseConv`: the N-D convolution shared by `Conv1D`, `Conv2D` and `Conv3D`."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src import activations, constraints, initializers, regularizers
from kiln._src.layers.convolutional import conv_utils
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import serialize_keras_object


def reject_lora(kwargs: dict[str, Any], layer: str) -> None:
    """Pops Keras's LoRA arguments, which kiln's conv layers do not support."""
    lora_rank = kwargs.pop("lora_rank", None)
    lora_alpha = kwargs.pop("lora_alpha", None)
    if lora_rank is not None:
        raise NotImplementedError(
            f"kiln's {layer} does not support LoRA yet. Remove the argument. "
            f"Received: lora_rank={lora_rank}, lora_alpha={lora_alpha}"
        )


def input_channels(layer: Layer, input_shape: Any) -> int:
    """The channel count of `input_shape` (checked to be known and the rank to
    be the layer's), for creating kernels."""
    conv_utils.check_rank(layer.name, input_shape, layer.rank + 2)
    channels = input_shape[conv_utils.channel_axis(layer.data_format)]
    if channels is None:
        raise ValueError(
            f"Layer '{layer.name}' needs the channel dimension of its input to "
            f"be known to create its kernel (data_format={layer.data_format!r}). "
            f"Received: input_shape={tuple(input_shape)}"
        )
    return channels


def add_bias_and_activate(layer: Layer, outputs: Any) -> Any:
    """``activation(outputs + bias)``, the bias broadcast on the channel axis."""
    if layer.bias is not None:
        bias = jnp.asarray(layer.bias.value, outputs.dtype)
        if layer.data_format == "channels_first":
            bias = jnp.reshape(bias, (-1,) + (1,) * layer.rank)
        outputs = outputs + bias
    return layer.activation(outputs)


def compute_value(layer: Layer, variable: Any) -> Any:
    """A variable's current value in the layer's compute dtype."""
    return jnp.asarray(variable.value, layer.compute_dtype)


class BaseConv(Layer):
    """An N-D convolution (cross-correlation) layer: ``activation(conv(inputs,
    kernel) + bias)``.

    Args:
        rank: the number of spatial dimensions (1, 2 or 3).
        filters: the number of output channels (a positive integer).
        kernel_size: an int or `rank` ints, the window size.
        strides: an int or `rank` ints. Strides > 1 cannot be combined with a
            dilation rate > 1.
        padding: ``"valid"`` (no padding) or ``"same"`` (output length
            ``ceil(n / stride)``), case-insensitive; `Conv1D` also accepts
            ``"causal"`` (left padding only, so ``output[t]`` sees no input
            after ``t``).
        data_format: ``"channels_last"`` (``(batch, *spatial, channels)``) or
            ``"channels_first"``; default `keras.config.image_data_format()`.
        dilation_rate: an int or `rank` ints, the spacing of kernel taps.
        groups: splits the channels into `groups` groups convolved separately;
            the input channels and `filters` must both be divisible by it.
        activation: applied to the result (default: none).
        use_bias: whether to add a bias vector.
        kernel_initializer / bias_initializer: initializers (defaults
            ``"glorot_uniform"`` / ``"zeros"``).
        kernel_regularizer / bias_regularizer / activity_regularizer:
            penalties added to the loss.
        kernel_constraint / bias_constraint: constraints applied after updates.

    The kernel has shape ``(*kernel_size, in_channels // groups, filters)``.
    """

    def __init__(
        self,
        rank: int,
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
        reject_lora(kwargs, type(self).__name__)
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = conv_utils.positive_int(filters, "filters")
        self.groups = conv_utils.positive_int(groups, "groups")
        if self.filters % self.groups:
            raise ValueError(
                "The number of filters must be evenly divisible by the number "
                f"of groups. Received: groups={groups}, filters={filters}"
            )
        self.kernel_size = conv_utils.normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = conv_utils.normalize_tuple(strides, rank, "strides")
        self.dilation_rate = conv_utils.normalize_tuple(
            dilation_rate, rank, "dilation_rate"
        )
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "`strides > 1` not supported in conjunction with "
                "`dilation_rate > 1`: set one of them to 1. Received: "
                f"strides={self.strides} and dilation_rate={self.dilation_rate}"
            )
        self.padding = conv_utils.normalize_padding(padding, allow_causal=rank == 1)
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
        if channels % self.groups:
            raise ValueError(
                "The number of input channels must be evenly divisible by the "
                f"number of groups. Received groups={self.groups}, but the input "
                f"has {channels} channels (full input shape is "
                f"{tuple(input_shape)})."
            )
        self.compute_output_shape(input_shape)
        axis = conv_utils.channel_axis(self.data_format)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={axis: channels})
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, channels // self.groups, self.filters),
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

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        return conv_utils.conv(
            inputs,
            kernel,
            self.strides,
            self.padding,
            self.dilation_rate,
            self.data_format,
            self.groups,
        )

    def call(self, inputs: Any) -> Any:
        kernel = compute_value(self, self.kernel)
        outputs = self.convolution_op(jnp.asarray(inputs, kernel.dtype), kernel)
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
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "data_format": self.data_format,
                "dilation_rate": self.dilation_rate,
                "groups": self.groups,
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
