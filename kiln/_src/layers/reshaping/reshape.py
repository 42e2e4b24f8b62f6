"""`Reshape`: gives each sample a new shape."""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp

from kiln._src.api_export import keras_export
from kiln._src.layers.layer import Layer


@keras_export("keras.layers.Reshape")
class Reshape(Layer):
    """Reshapes each sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: a tuple of ints; one entry may be -1 (inferred).

    Example:
        >>> keras.layers.Reshape((2, 3))(np.zeros((4, 6))).shape
        (4, 2, 3)
    """

    def __init__(self, target_shape: Any, **kwargs: Any):
        super().__init__(**kwargs)
        target_shape = tuple(target_shape)
        if sum(1 for d in target_shape if d == -1) > 1 or any(
            not isinstance(d, int) or (d < 1 and d != -1) for d in target_shape
        ):
            raise ValueError(
                "`target_shape` must be a tuple of positive integers, with at "
                f"most one -1. Received: target_shape={target_shape}"
            )
        self.target_shape = target_shape

    def call(self, inputs: Any) -> Any:
        size = math.prod(inputs.shape[1:])
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 not in self.target_shape and known != size) or (
            -1 in self.target_shape and size % known
        ):
            raise ValueError(
                f"Layer '{self.name}' cannot reshape an input with {size} values "
                f"per sample (shape {tuple(inputs.shape)}) to target_shape="
                f"{self.target_shape}."
            )
        return jnp.reshape(inputs, (inputs.shape[0], *self.target_shape))

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
