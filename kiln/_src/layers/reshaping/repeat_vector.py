"""`RepeatVector`: repeats a vector `n` times along a new time axis."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.input_spec import InputSpec
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.RepeatVector")
class RepeatVector(Layer):
    """Repeats the input `n` times: ``(batch, features)`` ->
    ``(batch, n, features)``.

    Args:
        n: a positive int, the number of repetitions.

    Example:
        >>> keras.layers.RepeatVector(3)(np.zeros((2, 32))).shape
        (2, 3, 32)
    """

    def __init__(self, n: int, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(
                f"Expected an integer value for `n`. Received: n={n!r} of type "
                f"{type(n).__name__}"
            )
        if n <= 0:
            raise ValueError(
                f"Argument `n` should be a positive integer. Received: n={n}"
            )
        self.n = n
        self.input_spec = InputSpec(ndim=2)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0], self.n, input_shape[1])

    def call(self, inputs: Any) -> Any:
        return jnp.repeat(inputs[:, None, :], self.n, axis=1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["n"] = self.n
        return config
