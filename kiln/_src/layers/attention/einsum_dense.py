"""`EinsumDense`: a dense layer whose product is any einsum equation.

The equation ``"<input>,<kernel>-><output>"`` names each axis with a letter;
the kernel's shape follows from the input shape and the given (partial) output
shape. ``...`` may stand for leading or trailing axes passed through unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import jax.numpy as jnp

from kiln._src import activations, constraints, initializers, regularizers
from kiln._src.api_export import keras_export
from kiln._src.initializers.variance_scaling import VarianceScaling
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer
from kiln._src.saving.serialization_lib import serialize_keras_object


def analyze_einsum_string(
    equation: str, bias_axes: str | None, input_shape: Any, output_shape: Any
) -> tuple[list[Any], list[Any] | None, list[Any], list[int], list[int]]:
    """``(kernel_shape, bias_shape, full_output_shape, input_axes,
    output_axes)`` for an einsum equation and an input shape.

    `input_axes` / `output_axes` are the kernel axes holding input / output
    units (used to compute fans for variance-scaling initializers).
    """
    text = equation.replace("...", "0")
    patterns = (
        (r"([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
        (r"0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
        (r"([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False),
    )
    for pattern, left_elided in patterns:
        match = re.match(pattern, text)
        if match:
            return _analyze_split(
                match.groups(), bias_axes, tuple(input_shape), output_shape, left_elided
            )
    raise ValueError(
        f"Invalid einsum equation '{equation}'. Equations must be in the form "
        "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]..., e.g. "
        "'ab,bc->ac'."
    )


def _analyze_split(
    specs: tuple[str, str, str],
    bias_axes: str | None,
    input_shape: tuple[Any, ...],
    output_shape: Any,
    left_elided: bool,
) -> tuple[list[Any], list[Any] | None, list[Any], list[int], list[int]]:
    input_spec, weight_spec, output_spec = specs
    elided = len(input_shape) - len(input_spec)
    full_output = (
        [output_shape] if isinstance(output_shape, int) else list(output_shape)
    )
    full_output.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            full_output.insert(1, input_shape[i])
    elif elided > 0:
        full_output.extend(input_shape[len(input_shape) - elided :])

    if left_elided:
        input_index = {
            d: i + elided - len(input_shape) for i, d in enumerate(input_spec)
        }
        output_index = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_index = {d: i for i, d in enumerate(input_spec)}
        output_index = {d: i for i, d in enumerate(output_spec)}

    for dim in input_spec:
        if dim in output_index:
            wanted = full_output[output_index[dim]]
            found = input_shape[input_index[dim]]
            if wanted is not None and wanted != found:
                raise ValueError(
                    "Input shape and output shape do not match at shared "
                    f"dimension '{dim}'. Input shape is {found}, and output shape "
                    f"is {wanted}."
                )
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(
                f"Dimension '{dim}' was specified in the output '{output_spec}' but "
                f"has no corresponding dim in the input spec '{input_spec}' or "
                f"weight spec '{weight_spec}'."
            )

    kernel_shape: list[Any] = []
    input_axes: list[int] = []
    output_axes: list[int] = []
    for i, dim in enumerate(weight_spec):
        if dim in output_index:
            kernel_shape.append(full_output[output_index[dim]])
            output_axes.append(i)
        elif dim in input_index:
            kernel_shape.append(input_shape[input_index[dim]])
            input_axes.append(i)
        else:
            raise ValueError(
                f"Weight dimension '{dim}' did not have a match in either the "
                f"input spec '{input_spec}' or the output spec '{output_spec}'. "
                "For this layer, the weight must be fully specified."
            )

    bias_shape = None
    if bias_axes is not None:
        offset = elided if left_elided else 0
        sizes = {c: full_output[i + offset] for i, c in enumerate(output_spec)}
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(
                    f"Bias dimension '{char}' was requested, but is not part of "
                    f"the output spec '{output_spec}'."
                )
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape.extend([1] * max(elided, 0))
    return kernel_shape, bias_shape, full_output, input_axes, output_axes


@keras_export("keras.layers.EinsumDense")
class EinsumDense(Layer):
    """A dense layer computed with ``einsum(equation, inputs, kernel)``.

    Args:
        equation: ``"<input>,<kernel>-><output>"``, e.g. ``"ab,bc->ac"`` (a
            Dense layer), ``"abc,cd->abd"``, ``"...b,bc->...c"``.
        output_shape: the output shape without the batch axis and the axes
            covered by ``...``; an int for a single axis; None entries are
            taken from the input.
        activation: an activation name or function (default: none).
        bias_axes: the output letters that get a bias (e.g. ``"c"``), or None
            for no bias.
        kernel_initializer / bias_initializer: initializers (defaults
            ``"glorot_uniform"`` / ``"zeros"``).
        kernel_regularizer / bias_regularizer: penalties added to the loss.
        kernel_constraint / bias_constraint: constraints applied after updates.

    Example:
        >>> layer = keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 64),
        ...                                  bias_axes="d")
        >>> layer(np.ones((2, 32, 128))).shape
        (2, 32, 64)
    """

    def __init__(
        self,
        equation: str,
        output_shape: Any,
        activation: Any = None,
        bias_axes: str | None = None,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        lora_rank: int | None = None,
        lora_alpha: float | None = None,
        gptq_unpacked_column_size: Any = None,
        quantization_config: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if lora_rank is not None or quantization_config is not None:
            raise NotImplementedError(
                "kiln's EinsumDense does not support LoRA or quantization yet. "
                f"Received: lora_rank={lora_rank}, "
                f"quantization_config={quantization_config}"
            )
        if not isinstance(equation, str):
            raise TypeError(
                "`equation` must be an einsum string such as 'ab,bc->ac'. "
                f"Received: equation={equation!r}"
            )
        self.equation = equation
        if isinstance(output_shape, int):
            self.partial_output_shape = (output_shape,)
        else:
            try:
                self.partial_output_shape = tuple(output_shape)
            except TypeError:
                raise TypeError(
                    "`output_shape` must be an int or a tuple of ints (None for "
                    f"axes taken from the input). Received: output_shape="
                    f"{output_shape!r}"
                ) from None
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = None
        self.lora_alpha = None
        self.lora_enabled = False
        self.gptq_unpacked_column_size = gptq_unpacked_column_size
        self.quantization_config = None

    def _kernel_initializer_for(
        self, input_axes: list[int], output_axes: list[int]
    ) -> Any:
        """A variance-scaling initializer computes its fans from the kernel
        axes that hold input and output units, unless told otherwise."""
        init = self.kernel_initializer
        if not isinstance(init, VarianceScaling) or (
            init.input_axes is not None and init.output_axes is not None
        ):
            return init
        config = init.get_config()
        config["seed"] = init.seed
        config["input_axes"] = input_axes
        config["output_axes"] = output_axes
        return type(init).from_config(config)

    def build(self, input_shape: Any) -> None:
        kernel_shape, bias_shape, _, input_axes, output_axes = analyze_einsum_string(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape
        )
        if any(d is None for d in kernel_shape):
            raise ValueError(
                f"Layer '{self.name}' cannot create its kernel: the einsum "
                f"'{self.equation}' gives kernel shape {tuple(kernel_shape)} with "
                "unknown dimensions. Give those sizes in `output_shape` or in the "
                f"input shape. Received: input_shape={tuple(input_shape)}"
            )
        self.input_spec = InputSpec(ndim=len(input_shape))
        self._kernel = self.add_weight(
            name="kernel",
            shape=tuple(kernel_shape),
            initializer=self._kernel_initializer_for(input_axes, output_axes),
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        if bias_shape is not None:
            self.bias = self.add_weight(
                name="bias",
                shape=tuple(bias_shape),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )
        else:
            self.bias = None
        self.built = True

    @property
    def kernel(self) -> Any:
        if not self.built:
            raise AttributeError(
                f"Layer '{self.name}' has no `kernel` before it is built. Call it "
                "on data or call `build(input_shape)` first."
            )
        return self._kernel

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        _, _, full_output, _, _ = analyze_einsum_string(
            self.equation, self.bias_axes, input_shape, self.partial_output_shape
        )
        return tuple(full_output)

    def call(self, inputs: Any, training: Any = None) -> Any:
        dtype = self.compute_dtype
        x = jnp.einsum(self.equation, inputs, self._kernel.value.astype(dtype))
        if self.bias is not None:
            x = x + self.bias.value.astype(dtype)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "output_shape": self.partial_output_shape,
                "equation": self.equation,
                "activation": activations.serialize(self.activation),
                "bias_axes": self.bias_axes,
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
        # Keras 3.13+ also writes "quantization_config": null; like Dense, kiln
        # leaves that default-valued newer key out so that older Keras 3
        # releases can load the file.
        return config
