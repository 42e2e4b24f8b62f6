"""`LeakyReLU`: ReLU with a small slope for negative inputs."""

from __future__ import annotations

import warnings
from typing import Any

from kiln._src.activations import activations
from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.LeakyReLU")
class LeakyReLU(Layer):
    """``f(x) = x`` for ``x >= 0`` and ``negative_slope * x`` otherwise.

    Args:
        negative_slope: a float >= 0 (default 0.3). The deprecated keyword
            `alpha` is accepted in its place.

    Example:
        >>> keras.layers.LeakyReLU()(np.array([-1.0, 2.0]))
        Array([-0.3,  2. ], dtype=float32)
    """

    def __init__(self, negative_slope: float = 0.3, **kwargs: Any):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn(
                "Argument `alpha` of LeakyReLU is deprecated. Use "
                "`negative_slope` instead.",
                stacklevel=2,
            )
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(
                "`negative_slope` of a LeakyReLU layer must be a non-negative "
                f"float (not None). Received: negative_slope={negative_slope}"
            )
        self.negative_slope = negative_slope
        self.supports_masking = True

    def call(self, inputs: Any) -> Any:
        return activations.leaky_relu(inputs, negative_slope=self.negative_slope)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config
