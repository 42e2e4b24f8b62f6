"""`UpSampling1D`: repeats each time step `size` times."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.UpSampling1D")
class UpSampling1D(Layer):
    """Repeats each step of a ``(batch, steps, features)`` input `size` times
    along the steps axis.

    Args:
        size: a positive int, the upsampling factor.

    Example:
        >>> keras.layers.UpSampling1D(2)(np.arange(6.0).reshape(1, 3, 2)).shape
        (1, 6, 2)
    """

    def __init__(self, size: int = 2, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(
                "Expected an integer value for `size`. Received: "
                f"size={size!r} of type {type(size).__name__}"
            )
        if size <= 0:
            raise ValueError(
                f"Argument `size` should be a positive integer. Received: size={size}"
            )
        self.size = size
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        steps = None if input_shape[1] is None else input_shape[1] * self.size
        return (input_shape[0], steps, input_shape[2])

    def call(self, inputs: Any) -> Any:
        return jnp.repeat(inputs, self.size, axis=1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["size"] = self.size
        return config
